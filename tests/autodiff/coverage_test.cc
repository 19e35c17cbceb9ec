// Every op the runtime has a kernel for is differentiable by a rule or a rewrite, or is
// listed here with the reason it has neither. A new kernel fails this test until someone
// decides which.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "onyx/autodiff/rules.h"
#include "onyx/autodiff/unroll.h"
#include "onyx/onnx/model_io.h"
#include "onyx/ops/registry.h"

namespace onyx {
namespace {

// op -> why it has no gradient rule.
const std::map<std::string, std::string>& without_rules() {
  static const std::map<std::string, std::string> m = [] {
    std::map<std::string, std::string> r;
    auto add = [&](std::initializer_list<const char*> ops, const char* why) {
      for (const char* op : ops) r[op] = why;
    };
    add({"And", "Or", "Xor", "Not", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual",
         "IsInf", "IsNaN", "ArgMax", "ArgMin", "NonZero", "Shape", "Size", "NonMaxSuppression",
         "Multinomial"},
        "its outputs are integer or boolean");
    add({"BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "ConvInteger", "MatMulInteger",
         "QLinearConv", "QLinearMatMul", "QuantizeLinear", "DequantizeLinear",
         "DynamicQuantizeLinear"},
        "integer or quantized arithmetic, which PyTorch does not differentiate either");
    add({"Constant", "ConstantOfShape", "RandomNormal", "RandomUniform", "BlackmanWindow",
         "HammingWindow", "HannWindow", "MelWeightMatrix"},
        "it has no floating-point input: a constant of the graph");
    add({"StringNormalizer", "TfIdfVectorizer", "StringConcat", "StringSplit", "RegexFullMatch",
         "ImageDecoder"},
        "its inputs are strings or integers");
    add({"BitwiseNot"}, "its outputs are integer");
    add({"ai.onnx.ml.ArrayFeatureExtractor", "ai.onnx.ml.Binarizer", "ai.onnx.ml.CastMap",
         "ai.onnx.ml.CategoryMapper", "ai.onnx.ml.DictVectorizer", "ai.onnx.ml.FeatureVectorizer",
         "ai.onnx.ml.Imputer", "ai.onnx.ml.LabelEncoder", "ai.onnx.ml.LinearClassifier",
         "ai.onnx.ml.LinearRegressor", "ai.onnx.ml.Normalizer", "ai.onnx.ml.OneHotEncoder",
         "ai.onnx.ml.SVMClassifier", "ai.onnx.ml.SVMRegressor", "ai.onnx.ml.Scaler",
         "ai.onnx.ml.TreeEnsemble", "ai.onnx.ml.TreeEnsembleClassifier",
         "ai.onnx.ml.TreeEnsembleRegressor", "ai.onnx.ml.ZipMap"},
        "a classical model's scoring (scikit-learn's, converted): its parameters are attributes, "
        "not initializers, so there is nothing to train; trees, encoders and maps have no "
        "derivative either");
    add({"MaxRoiPool"},
        "not written yet: Fast R-CNN's region max pooling, which RoiAlign (lowered for "
        "differentiation) replaced in later detectors; a training step stops at it by name");
    add({"BitCast"},
        "reinterpreting bits has no derivative (the spec marks it non-differentiable)");
    add({"Unique"}, "sorting out repeats has no derivative in PyTorch either");
    add({"SequenceEmpty", "SequenceConstruct", "SequenceInsert", "SequenceErase", "SequenceAt",
         "SequenceLength", "ConcatFromSequence", "SplitToSequence", "SequenceMap", "Optional",
         "OptionalGetElement", "OptionalHasElement"},
        "differentiated when the sequence or optional is known statically (fold_sequences), "
        "not otherwise: gradients flow through tensors only");
    add({"ai.onnx.preview.training.Adagrad", "ai.onnx.preview.training.Adam",
         "ai.onnx.preview.training.Momentum"},
        "an optimizer update, which a training step applies, not differentiates");
    return r;
  }();
  return m;
}

TEST(GradientCoverage, EveryKernelHasARuleOrAReason) {
  for (const std::string& name : ops::registry().op_names()) {
    size_t dot = name.rfind('.');
    std::string domain = dot == std::string::npos ? "" : name.substr(0, dot);
    std::string op = dot == std::string::npos ? name : name.substr(dot + 1);
    // The runtime's own ops (runtime/layout.h) are made when a session is planned, after
    // any differentiation: never in a model that is differentiated.
    if (domain == ops::kRuntimeDomain) continue;
    ir::Node n;
    n.domain = domain;
    n.op_type = op;
    // A rule at some opset (Scatter and Upsample have theirs at their old opsets only).
    bool rule = false;
    for (int64_t opset = 1; opset <= onnx_io::kNewestOpset && !rule; ++opset) {
      rule = autodiff::find_rule(domain, op, opset) != nullptr;
    }
    bool covered = rule || autodiff::rewritten_op(n);
    bool listed = without_rules().count(name) != 0;
    EXPECT_TRUE(covered || listed) << name << " has no gradient rule and no reason listed";
    EXPECT_FALSE(covered && listed) << name << " has a rule but is listed as having none";
  }
}

}  // namespace
}  // namespace onyx
