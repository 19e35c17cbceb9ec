#include "onyx/onnx/checker.h"

#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onyx/core/error.h"
#include "onyx/core/file_util.h"
#include "onyx/onnx/libonnx_input.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/type_rules.h"
#include "onyx/onnx/version_convert.h"

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

namespace {

// libonnx 1.12 knows IR versions to 8 and the default domain to opset 17.
constexpr int64_t kLibonnxIr = 8;
constexpr int64_t kLibonnxOpset = 17;

int64_t default_opset(const onnx::ModelProto& proto) {
  for (const auto& o : proto.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  }
  return 0;
}

// An element type IR 8 lacks (the narrow types) among the model's declared values.
std::string newer_element_type(const ir::Model& m) {
  const ir::Graph& g = *m.graph;
  for (const auto& init : g.initializers) {
    if (is_narrow(init.value.dtype())) return dtype_name(init.value.dtype());
  }
  for (const auto* list : {&g.inputs, &g.outputs, &g.value_info}) {
    for (const auto& v : *list) {
      if (is_narrow(v.type.elem)) return dtype_name(v.type.elem);
    }
  }
  return "";
}

}  // namespace

CheckerResult run_onnx_checker(const std::string& path) {
  CheckerResult r;
  onnx::ModelProto proto;
  if (!proto.ParseFromString(read_file(path, size_t{2} << 30))) {
    r.checker_error = "model cannot be parsed";
    r.shape_inference_error = "model cannot be parsed";
    return r;
  }
  onnx::ModelProto inferable;  // the model as strict inference (no data propagation) gets it
  if (proto.ir_version() <= kLibonnxIr && default_opset(proto) <= kLibonnxOpset) {
    try {
      onnx::checker::check_model(path);
    } catch (const std::exception& e) {
      r.checker_error = e.what();
    }
    try {
      libonnx_proto(load_model(path), &inferable);
    } catch (const Error& e) {
      r.shape_inference_error = cat("not run: ", e.what());
      return r;
    }
  } else {
    try {
      ir::Model m = convert_opset(load_model(path), kLibonnxOpset);
      std::string newer = newer_element_type(m);
      if (!newer.empty()) fail(ErrorKind::Unsupported, "element type ", newer, " needs IR 9");
      m.ir_version = kLibonnxIr;
      libonnx_proto(m, &inferable);
    } catch (const Error& e) {
      r.not_checked = cat("libonnx 1.12 checks IR 8 and opset 17 at most, and the model (IR ",
                          proto.ir_version(), ", opset ", default_opset(proto),
                          ") does not convert down: ", e.what());
      r.shape_inference_error = cat("not run: ", e.what());
      return r;
    }
    r.checked_as = "as opset 17 and IR 8, the newest libonnx 1.12 knows";
    try {
      onnx::checker::check_model(inferable);
    } catch (const std::exception& e) {
      r.checker_error = e.what();
    }
  }
  r.shape_inference_error = strict_inference(inferable, &r.inferred_values);
  return r;
}

namespace {

// Declares `name`'s type in the proto, so libonnx's next round of inference starts from it.
void set_value_info(onnx::ModelProto& proto, const std::string& name, const ir::TypeInfo& t) {
  onnx::ValueInfoProto* vi = nullptr;
  for (auto& v : *proto.mutable_graph()->mutable_value_info()) {
    if (v.name() == name) vi = &v;
  }
  if (!vi) vi = proto.mutable_graph()->add_value_info();
  vi->set_name(name);
  vi->clear_type();
  type_to_proto(t, vi->mutable_type());
}

}  // namespace

std::unordered_map<std::string, ir::TypeInfo> infer_value_types(const ir::Model& model) {
  std::unordered_map<std::string, ir::TypeInfo> types;
  const ir::Graph& g = *model.graph;
  for (const auto& init : g.initializers) {
    types[init.name] = ir::TypeInfo::tensor(init.value.dtype(), init.value.shape());
  }
  onnx::ModelProto proto;
  std::unordered_set<std::string> placeholders = libonnx_inference_proto(model, &proto);
  // Inference stops at ops newer than this library: typing those (type_rules.h) and
  // inferring again lets it go on past them.
  for (int round = 0; round < 16; ++round) {
    try {
      onnx::ShapeInferenceOptions opts{false, 0, true};
      onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception&) {
      // Non-strict inference still types what it can; anything it throws leaves the
      // declared types only.
    }
    for (const auto& vi : proto.graph().value_info()) {
      ir::TypeInfo t = type_from_proto(vi.type());
      // A placeholder inference left as it was says nothing.
      bool bare = t.kind == ir::TypeInfo::Kind::Tensor && t.elem == DType::Undefined && !t.shape;
      if (!(bare && placeholders.count(vi.name()))) types[vi.name()] = t;
    }
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
    bool added = false;
    for (const ir::Node& n : g.nodes) {
      std::optional<RuleUse> use = own_rule_use(n);
      if (!use) continue;
      std::vector<std::optional<ir::TypeInfo>> own;
      bool asked = false;
      for (size_t i = 0; i < n.outputs.size(); ++i) {
        if (n.outputs[i].empty()) continue;
        auto known = types.find(n.outputs[i]);
        bool typed = known != types.end() && known->second.kind != ir::TypeInfo::Kind::Unknown &&
                     known->second.elem != DType::Undefined;
        bool ranked = typed && known->second.shape;
        if (typed && *use == RuleUse::Untyped) continue;
        if (ranked && *use == RuleUse::Unranked) continue;
        if (!asked) own = own_output_types(n, g, types), asked = true;
        if (i >= own.size() || !own[i] || (typed && known->second.str() == own[i]->str())) continue;
        types[n.outputs[i]] = *own[i];
        set_value_info(proto, n.outputs[i], *own[i]);
        added = true;
      }
    }
    if (!added) break;
  }
  return types;
}

}  // namespace onyx::onnx_io
