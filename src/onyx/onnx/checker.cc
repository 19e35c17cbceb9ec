#include "onyx/onnx/checker.h"

#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onyx/core/error.h"
#include "onyx/core/file_util.h"
#include "onyx/onnx/model_io.h"

namespace onyx::onnx_io {

namespace {

// Strict inference on `proto` (modified): the error, or "" when types are consistent.
std::string strict_inference(onnx::ModelProto& proto, int* inferred) {
  try {
    onnx::ShapeInferenceOptions opts{true, 1, false};
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), opts);
    *inferred = proto.graph().value_info_size();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

CheckerResult run_onnx_checker(const std::string& path) {
  CheckerResult r;
  try {
    onnx::checker::check_model(path);
  } catch (const std::exception& e) {
    r.checker_error = e.what();
  }
  onnx::ModelProto proto;
  std::string bytes = read_file(path, size_t{2} << 30);
  if (!proto.ParseFromString(bytes)) {
    r.shape_inference_error = "model cannot be parsed";
    return r;
  }
  r.shape_inference_error = strict_inference(proto, &r.inferred_values);
  return r;
}

std::unordered_map<std::string, ir::TypeInfo> infer_value_types(const ir::Model& model) {
  std::unordered_map<std::string, ir::TypeInfo> types;
  const ir::Graph& g = *model.graph;
  for (const auto& init : g.initializers) {
    types[init.name] = ir::TypeInfo::tensor(init.value.dtype(), init.value.shape());
  }
  onnx::ModelProto proto;
  model_to_proto(model, &proto);
  try {
    onnx::ShapeInferenceOptions opts{false, 0, true};
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception&) {
    // Non-strict inference still types what it can; anything it throws leaves the
    // declared types only.
  }
  for (const auto& vi : proto.graph().value_info()) types[vi.name()] = type_from_proto(vi.type());
  // Inference refines the graph outputs' declared types in place (an output declared
  // without a shape gets the inferred one).
  for (const auto& vi : proto.graph().output()) {
    if (vi.has_type()) types[vi.name()] = type_from_proto(vi.type());
  }
  for (const auto* list : {&g.inputs, &g.value_info}) {
    for (const auto& vi : *list) {
      if (vi.type.kind != ir::TypeInfo::Kind::Unknown) types[vi.name] = vi.type;
    }
  }
  return types;
}

}  // namespace onyx::onnx_io
