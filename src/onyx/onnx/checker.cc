#include "onyx/onnx/checker.h"

#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onyx/core/error.h"
#include "onyx/core/file_util.h"
#include "onyx/onnx/model_io.h"
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
  std::string bytes = read_file(path, size_t{2} << 30);
  if (!proto.ParseFromString(bytes)) {
    r.checker_error = "model cannot be parsed";
    r.shape_inference_error = "model cannot be parsed";
    return r;
  }
  if (proto.ir_version() <= kLibonnxIr && default_opset(proto) <= kLibonnxOpset) {
    try {
      onnx::checker::check_model(path);
    } catch (const std::exception& e) {
      r.checker_error = e.what();
    }
  } else {
    try {
      ir::Model m = convert_opset(load_model(path), kLibonnxOpset);
      std::string newer = newer_element_type(m);
      if (!newer.empty()) fail(ErrorKind::Unsupported, "element type ", newer, " needs IR 9");
      m.ir_version = kLibonnxIr;
      onnx::ModelProto converted;
      model_to_proto(m, &converted);
      r.checked_as = "as opset 17 and IR 8, the newest libonnx 1.12 knows";
      try {
        onnx::checker::check_model(converted);
      } catch (const std::exception& e) {
        r.checker_error = e.what();
      }
      proto = std::move(converted);
    } catch (const Error& e) {
      r.not_checked = cat("libonnx 1.12 checks IR 8 and opset 17 at most, and the model (IR ",
                          proto.ir_version(), ", opset ", default_opset(proto),
                          ") does not convert down: ", e.what());
    }
  }
  r.shape_inference_error = strict_inference(proto, &r.inferred_values);
  return r;
}

namespace {

// Output types of the ops this ONNX library (1.12) cannot infer (the opset-18 ops the
// runtime has, RoiAlign before opset 16) or infers wrongly (STFT's onesided bins), and
// the ranks it drops (Slice with computed starts, Reshape to a computed shape: PyTorch's
// attention exports), from their input types; nullopt when those are unknown too.
std::optional<ir::TypeInfo> own_type(const ir::Node& n, const ir::Graph& g,
                                     const std::unordered_map<std::string, ir::TypeInfo>& t) {
  auto in = [&](size_t i) -> const ir::TypeInfo* {
    auto it = n.has_input(i) ? t.find(n.input(i)) : t.end();
    return it == t.end() || it->second.kind != ir::TypeInfo::Kind::Tensor ? nullptr : &it->second;
  };
  if (!n.domain.empty() && n.domain != "ai.onnx") return std::nullopt;
  // Elementwise, or shaped like the first input (RMSNormalization's Y).
  if (n.op_type == "Mish" || n.op_type == "BitwiseNot" || n.op_type == "Gelu" ||
      n.op_type == "Swish" || n.op_type == "RMSNormalization" ||
      n.op_type == "GroupNormalization") {
    if (const ir::TypeInfo* x = in(0)) return *x;
  }
  if (n.op_type == "BitCast") {  // the input's shape, the `to` type
    const ir::TypeInfo* x = in(0);
    DType to;
    if (!x || !dtype_from_int(static_cast<int32_t>(n.attr_int("to", 0)), &to)) return std::nullopt;
    ir::TypeInfo y = *x;
    y.elem = to;
    return y;
  }
  if (n.op_type == "CenterCropPad") {  // the input's rank; the named axes' sizes from `shape`
    const ir::TypeInfo* x = in(0);
    if (!x || !x->shape) return std::nullopt;
    ir::TypeInfo y = *x;
    int64_t rank = static_cast<int64_t>(x->shape->size());
    std::vector<int64_t> axes = n.attr_ints("axes");
    if (axes.empty()) {
      for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
    }
    auto dims = n.has_input(1) ? g.constant_value(n.input(1)) : std::nullopt;
    std::vector<int64_t> v = dims ? dims->to_int64s() : std::vector<int64_t>{};
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
      if (a < 0 || a >= rank) return std::nullopt;
      (*y.shape)[static_cast<size_t>(a)] = i < v.size() ? ir::Dim{v[i], "", ""} : ir::Dim{};
    }
    return y;
  }
  if (n.op_type == "Slice") {  // the data's rank; the sliced axes' sizes unknown
    const ir::TypeInfo* x = in(0);
    if (!x || !x->shape) return std::nullopt;
    ir::TypeInfo y = *x;
    auto axes = n.has_input(3) ? g.constant_value(n.input(3)) : std::nullopt;
    int64_t rank = static_cast<int64_t>(x->shape->size());
    for (int64_t a = 0; a < rank; ++a) {
      bool sliced = !axes;
      for (int64_t v : axes ? axes->to_int64s() : std::vector<int64_t>{})
        sliced = sliced || v == a || v + rank == a;
      if (sliced) (*y.shape)[static_cast<size_t>(a)] = ir::Dim{};
    }
    return y;
  }
  if (n.op_type == "Reshape") {  // as many dims as the shape input has elements
    const ir::TypeInfo *x = in(0), *shape = in(1);
    if (!x || !shape || !shape->shape || shape->shape->size() != 1 || !(*shape->shape)[0].value)
      return std::nullopt;
    ir::TypeInfo y = ir::TypeInfo::tensor(x->elem);
    y.shape = std::vector<ir::Dim>(static_cast<size_t>(*(*shape->shape)[0].value));
    return y;
  }
  if (n.op_type == "RoiAlign") {  // [R, C, output_height, output_width]
    const ir::TypeInfo *x = in(0), *rois = in(1);
    if (!x) return std::nullopt;
    ir::TypeInfo y = ir::TypeInfo::tensor(x->elem);
    if (x->shape && x->shape->size() == 4 && rois && rois->shape && rois->shape->size() == 2) {
      y.shape = std::vector<ir::Dim>{(*rois->shape)[0], (*x->shape)[1],
                                     ir::Dim{n.attr_int("output_height", 1), "", ""},
                                     ir::Dim{n.attr_int("output_width", 1), "", ""}};
    }
    return y;
  }
  if (n.op_type == "STFT") {  // [B, S, C] -> [B, frames, bins, 2]
    const ir::TypeInfo* x = in(0);
    auto step = n.has_input(1) ? g.constant_value(n.input(1)) : std::nullopt;
    std::optional<int64_t> len;
    if (const ir::TypeInfo* w = in(2); w && w->shape && w->shape->size() == 1) {
      len = (*w->shape)[0].value;
    } else if (auto fl = n.has_input(3) ? g.constant_value(n.input(3)) : std::nullopt) {
      len = fl->to_int64s().at(0);
    }
    if (!x || !x->shape || x->shape->size() != 3 || !step || !len) return std::nullopt;
    const auto& xs = *x->shape;
    ir::Dim frames{}, bins{n.attr_int("onesided", 1) ? *len / 2 + 1 : *len, "", ""};
    int64_t st = step->to_int64s().at(0);
    if (xs[1].value && st > 0) frames = ir::Dim{1 + (*xs[1].value - *len) / st, "", ""};
    ir::TypeInfo y = ir::TypeInfo::tensor(x->elem);
    y.shape = std::vector<ir::Dim>{xs[0], frames, bins, ir::Dim{2, "", ""}};
    return y;
  }
  if (n.op_type == "Col2Im") {  // [N, C * prod(block_shape), L] -> [N, C, *image_shape]
    const ir::TypeInfo* x = in(0);
    auto image = n.has_input(1) ? g.constant_value(n.input(1)) : std::nullopt;
    auto block = n.has_input(2) ? g.constant_value(n.input(2)) : std::nullopt;
    if (!x || !image || !block) return std::nullopt;
    ir::TypeInfo y = ir::TypeInfo::tensor(x->elem);
    std::vector<ir::Dim> dims;
    if (x->shape && x->shape->size() == 3) {
      int64_t cells = 1;
      for (int64_t b : block->to_int64s()) cells *= b;
      dims.push_back((*x->shape)[0]);
      const ir::Dim& c = (*x->shape)[1];
      dims.push_back(c.value && cells > 0 ? ir::Dim{*c.value / cells, "", ""} : ir::Dim{});
      for (int64_t d : image->to_int64s()) dims.push_back({d, "", ""});
      y.shape = dims;
    }
    return y;
  }
  return std::nullopt;
}

}  // namespace

std::unordered_map<std::string, ir::TypeInfo> infer_value_types(const ir::Model& model) {
  std::unordered_map<std::string, ir::TypeInfo> types;
  const ir::Graph& g = *model.graph;
  for (const auto& init : g.initializers) {
    types[init.name] = ir::TypeInfo::tensor(init.value.dtype(), init.value.shape());
  }
  onnx::ModelProto proto;
  model_to_proto(model, &proto);
  // Inference stops at ops newer than this library: typing those (own_type) and
  // inferring again lets it go on past them.
  for (int round = 0; round < 16; ++round) {
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
    bool added = false;
    for (const ir::Node& n : g.nodes) {
      if (n.outputs.size() != 1 || n.outputs[0].empty()) continue;
      auto known = types.find(n.outputs[0]);
      bool typed = known != types.end() && known->second.kind != ir::TypeInfo::Kind::Unknown &&
                   known->second.elem != DType::Undefined;
      bool ranked = typed && known->second.shape;
      bool rank_only = n.op_type == "Slice" || n.op_type == "Reshape";
      if (typed && n.op_type != "STFT" && (ranked || !rank_only)) continue;
      auto t = own_type(n, g, types);
      if (!t || (typed && known->second.str() == t->str())) continue;
      types[n.outputs[0]] = *t;
      onnx::ValueInfoProto* vi = nullptr;
      for (auto& v : *proto.mutable_graph()->mutable_value_info()) {
        if (v.name() == n.outputs[0]) vi = &v;
      }
      if (!vi) vi = proto.mutable_graph()->add_value_info();
      vi->set_name(n.outputs[0]);
      vi->clear_type();
      type_to_proto(*t, vi->mutable_type());
      added = true;
    }
    if (!added) break;
  }
  return types;
}

}  // namespace onyx::onnx_io
