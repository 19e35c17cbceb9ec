#include "onyx/onnx/model_io.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <cstring>
#include <filesystem>

#include "onnx/onnx_pb.h"
#include "onyx/core/file_util.h"
#include "onyx/onnx/tensor_proto.h"

namespace onyx::onnx_io {

namespace {

ir::Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& base_dir,
                                   const std::string& context);

void attribute_to_proto(const ir::Attribute& a, onnx::AttributeProto* p) {
  p->set_name(a.name);
  if (!a.ref_attr_name.empty()) p->set_ref_attr_name(a.ref_attr_name);
  if (!a.doc_string.empty()) p->set_doc_string(a.doc_string);
  p->set_type(static_cast<onnx::AttributeProto::AttributeType>(a.type));
  switch (a.type) {
    case ir::AttrType::Float:
      p->set_f(a.f);
      break;
    case ir::AttrType::Int:
      p->set_i(a.i);
      break;
    case ir::AttrType::String:
      p->set_s(a.s);
      break;
    case ir::AttrType::Tensor:
      tensor_to_proto(a.t, p->mutable_t());
      break;
    case ir::AttrType::Graph:
      graph_to_proto(*a.g, p->mutable_g());
      break;
    case ir::AttrType::Floats:
      for (float f : a.floats) p->add_floats(f);
      break;
    case ir::AttrType::Ints:
      for (int64_t i : a.ints) p->add_ints(i);
      break;
    case ir::AttrType::Strings:
      for (const auto& s : a.strings) p->add_strings(s);
      break;
    case ir::AttrType::Tensors:
      for (const auto& t : a.tensors) tensor_to_proto(t, p->add_tensors());
      break;
    case ir::AttrType::Graphs:
      for (const auto& g : a.graphs) graph_to_proto(*g, p->add_graphs());
      break;
    case ir::AttrType::SparseTensor:
      if (!a.sparse_tensors_serialized.empty()) {
        p->mutable_sparse_tensor()->ParseFromString(a.sparse_tensors_serialized[0]);
      }
      break;
    case ir::AttrType::SparseTensors:
      for (const auto& s : a.sparse_tensors_serialized) p->add_sparse_tensors()->ParseFromString(s);
      break;
    case ir::AttrType::TypeProto:
      if (!a.type_protos.empty()) type_to_proto(a.type_protos[0], p->mutable_tp());
      break;
    case ir::AttrType::TypeProtos:
      for (const auto& t : a.type_protos) type_to_proto(t, p->add_type_protos());
      break;
    case ir::AttrType::Undefined:
      break;
  }
}

// Older exporters leave AttributeProto.type unset; infer it from the populated field.
ir::AttrType infer_attr_type(const onnx::AttributeProto& a) {
  if (a.has_type() && a.type() != onnx::AttributeProto::UNDEFINED) {
    return static_cast<ir::AttrType>(a.type());
  }
  if (a.has_f()) return ir::AttrType::Float;
  if (a.has_i()) return ir::AttrType::Int;
  if (a.has_s()) return ir::AttrType::String;
  if (a.has_t()) return ir::AttrType::Tensor;
  if (a.has_g()) return ir::AttrType::Graph;
  if (a.floats_size()) return ir::AttrType::Floats;
  if (a.ints_size()) return ir::AttrType::Ints;
  if (a.strings_size()) return ir::AttrType::Strings;
  if (a.tensors_size()) return ir::AttrType::Tensors;
  if (a.graphs_size()) return ir::AttrType::Graphs;
  return ir::AttrType::Undefined;
}

ir::Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& base_dir,
                                   const std::string& context) {
  ir::Attribute out;
  out.name = a.name();
  out.ref_attr_name = a.ref_attr_name();
  out.doc_string = a.doc_string();
  out.type = infer_attr_type(a);
  std::string ctx = context + ": attribute '" + a.name() + "'";
  TensorReadOptions topt{base_dir, ctx};
  switch (out.type) {
    case ir::AttrType::Float:
      out.f = a.f();
      break;
    case ir::AttrType::Int:
      out.i = a.i();
      break;
    case ir::AttrType::String:
      out.s = a.s();
      break;
    case ir::AttrType::Tensor:
      out.t = tensor_from_proto(a.t(), topt);
      break;
    case ir::AttrType::Graph:
      out.g = graph_from_proto(a.g(), base_dir, ctx);
      break;
    case ir::AttrType::Floats:
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case ir::AttrType::Ints:
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case ir::AttrType::Strings:
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case ir::AttrType::Tensors:
      for (const auto& t : a.tensors()) out.tensors.push_back(tensor_from_proto(t, topt));
      break;
    case ir::AttrType::Graphs:
      for (const auto& g : a.graphs()) out.graphs.push_back(graph_from_proto(g, base_dir, ctx));
      break;
    case ir::AttrType::SparseTensor:
      out.sparse_tensors_serialized.push_back(a.sparse_tensor().SerializeAsString());
      break;
    case ir::AttrType::SparseTensors:
      for (const auto& s : a.sparse_tensors()) {
        out.sparse_tensors_serialized.push_back(s.SerializeAsString());
      }
      break;
    case ir::AttrType::TypeProto:
      out.type_protos.push_back(type_from_proto(a.tp()));
      break;
    case ir::AttrType::TypeProtos:
      for (const auto& t : a.type_protos()) out.type_protos.push_back(type_from_proto(t));
      break;
    case ir::AttrType::Undefined:
      break;
    default:
      fail(ErrorKind::InvalidModel, ctx, " has unknown type ", static_cast<int>(a.type()));
  }
  return out;
}

ir::ValueInfo value_info_from_proto(const onnx::ValueInfoProto& p) {
  return ir::ValueInfo{p.name(), p.has_type() ? type_from_proto(p.type()) : ir::TypeInfo{},
                       p.doc_string()};
}

void value_info_to_proto(const ir::ValueInfo& v, onnx::ValueInfoProto* p) {
  p->set_name(v.name);
  if (v.type.kind != ir::TypeInfo::Kind::Unknown) type_to_proto(v.type, p->mutable_type());
  if (!v.doc_string.empty()) p->set_doc_string(v.doc_string);
}

void shape_from_proto(const onnx::TensorShapeProto& s, ir::TypeInfo* t) {
  std::vector<ir::Dim> dims;
  for (const auto& d : s.dim()) {
    ir::Dim dim;
    if (d.has_dim_value()) dim.value = d.dim_value();
    if (d.has_dim_param()) dim.param = d.dim_param();
    dim.denotation = d.denotation();
    dims.push_back(std::move(dim));
  }
  t->shape = std::move(dims);
}

void shape_to_proto(const ir::TypeInfo& t, onnx::TensorShapeProto* s) {
  for (const auto& d : *t.shape) {
    auto* pd = s->add_dim();
    if (d.value)
      pd->set_dim_value(*d.value);
    else if (!d.param.empty())
      pd->set_dim_param(d.param);
    if (!d.denotation.empty()) pd->set_denotation(d.denotation);
  }
}

}  // namespace

ir::TypeInfo type_from_proto(const onnx::TypeProto& p) {
  ir::TypeInfo t;
  t.denotation = p.denotation();
  DType dt = DType::Undefined;
  switch (p.value_case()) {
    case onnx::TypeProto::kTensorType:
      t.kind = ir::TypeInfo::Kind::Tensor;
      dtype_from_int(p.tensor_type().elem_type(), &dt);
      t.elem = dt;
      if (p.tensor_type().has_shape()) shape_from_proto(p.tensor_type().shape(), &t);
      break;
    case onnx::TypeProto::kSparseTensorType:
      t.kind = ir::TypeInfo::Kind::SparseTensor;
      dtype_from_int(p.sparse_tensor_type().elem_type(), &dt);
      t.elem = dt;
      if (p.sparse_tensor_type().has_shape()) shape_from_proto(p.sparse_tensor_type().shape(), &t);
      break;
    case onnx::TypeProto::kSequenceType:
      t.kind = ir::TypeInfo::Kind::Sequence;
      t.inner = std::make_shared<ir::TypeInfo>(type_from_proto(p.sequence_type().elem_type()));
      break;
    case onnx::TypeProto::kOptionalType:
      t.kind = ir::TypeInfo::Kind::Optional;
      t.inner = std::make_shared<ir::TypeInfo>(type_from_proto(p.optional_type().elem_type()));
      break;
    case onnx::TypeProto::kMapType:
      t.kind = ir::TypeInfo::Kind::Map;
      dtype_from_int(p.map_type().key_type(), &dt);
      t.elem = dt;
      t.inner = std::make_shared<ir::TypeInfo>(type_from_proto(p.map_type().value_type()));
      break;
    default:
      break;
  }
  return t;
}

void type_to_proto(const ir::TypeInfo& t, onnx::TypeProto* p) {
  if (!t.denotation.empty()) p->set_denotation(t.denotation);
  switch (t.kind) {
    case ir::TypeInfo::Kind::Tensor: {
      auto* tt = p->mutable_tensor_type();
      tt->set_elem_type(static_cast<int32_t>(t.elem));
      if (t.shape) shape_to_proto(t, tt->mutable_shape());
      break;
    }
    case ir::TypeInfo::Kind::SparseTensor: {
      auto* tt = p->mutable_sparse_tensor_type();
      tt->set_elem_type(static_cast<int32_t>(t.elem));
      if (t.shape) shape_to_proto(t, tt->mutable_shape());
      break;
    }
    case ir::TypeInfo::Kind::Sequence:
      type_to_proto(t.inner ? *t.inner : ir::TypeInfo{},
                    p->mutable_sequence_type()->mutable_elem_type());
      break;
    case ir::TypeInfo::Kind::Optional:
      type_to_proto(t.inner ? *t.inner : ir::TypeInfo{},
                    p->mutable_optional_type()->mutable_elem_type());
      break;
    case ir::TypeInfo::Kind::Map:
      p->mutable_map_type()->set_key_type(static_cast<int32_t>(t.elem));
      type_to_proto(t.inner ? *t.inner : ir::TypeInfo{},
                    p->mutable_map_type()->mutable_value_type());
      break;
    case ir::TypeInfo::Kind::Unknown:
      break;
  }
}

std::shared_ptr<ir::Graph> graph_from_proto(const onnx::GraphProto& proto,
                                            const std::string& base_dir,
                                            const std::string& context) {
  auto g = std::make_shared<ir::Graph>();
  g->name = proto.name();
  g->doc_string = proto.doc_string();
  std::string gctx = context + ": graph '" + proto.name() + "'";
  for (const auto& init : proto.initializer()) {
    TensorReadOptions opt{base_dir, gctx + ": initializer '" + init.name() + "'"};
    g->initializers.push_back({init.name(), tensor_from_proto(init, opt), init.doc_string()});
  }
  for (const auto& sp : proto.sparse_initializer()) {
    TensorReadOptions opt{base_dir, gctx + ": sparse initializer '" + sp.values().name() + "'"};
    ir::Initializer init{sp.values().name(), tensor_from_sparse_proto(sp, opt), ""};
    init.from_sparse = true;
    g->initializers.push_back(std::move(init));
  }
  for (const auto& v : proto.input()) g->inputs.push_back(value_info_from_proto(v));
  for (const auto& v : proto.output()) g->outputs.push_back(value_info_from_proto(v));
  for (const auto& v : proto.value_info()) g->value_info.push_back(value_info_from_proto(v));
  for (const auto& np : proto.node()) {
    ir::Node n;
    n.name = np.name();
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    n.doc_string = np.doc_string();
    std::string nctx = gctx + ": " + n.describe();
    for (const auto& a : np.attribute())
      n.attributes.push_back(attribute_from_proto(a, base_dir, nctx));
    onnx::NodeProto rest(np);
    rest.clear_name();
    rest.clear_op_type();
    rest.clear_domain();
    rest.clear_input();
    rest.clear_output();
    rest.clear_attribute();
    rest.clear_doc_string();
    if (rest.ByteSizeLong()) n.extra = rest.SerializeAsString();
    g->nodes.push_back(std::move(n));
  }
  onnx::GraphProto rest(proto);
  rest.clear_name();
  rest.clear_doc_string();
  rest.clear_node();
  rest.clear_initializer();
  rest.clear_input();
  rest.clear_output();
  rest.clear_value_info();
  if (rest.ByteSizeLong()) g->extra = rest.SerializeAsString();
  return g;
}

void graph_to_proto(const ir::Graph& g, onnx::GraphProto* proto) {
  proto->Clear();
  if (!g.extra.empty()) proto->ParseFromString(g.extra);
  proto->set_name(g.name);
  if (!g.doc_string.empty()) proto->set_doc_string(g.doc_string);
  for (const auto& n : g.nodes) {
    auto* np = proto->add_node();
    if (!n.extra.empty()) np->ParseFromString(n.extra);
    for (const auto& in : n.inputs) np->add_input(in);
    for (const auto& out : n.outputs) np->add_output(out);
    if (!n.name.empty()) np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& a : n.attributes) attribute_to_proto(a, np->add_attribute());
    if (!n.doc_string.empty()) np->set_doc_string(n.doc_string);
  }
  for (const auto& init : g.initializers) {
    if (init.from_sparse) continue;  // kept in `extra` as a sparse_initializer
    auto* tp = proto->add_initializer();
    tensor_to_proto(init.value, tp);
    tp->set_name(init.name);
    if (!init.doc_string.empty()) tp->set_doc_string(init.doc_string);
  }
  for (const auto& v : g.inputs) value_info_to_proto(v, proto->add_input());
  for (const auto& v : g.outputs) value_info_to_proto(v, proto->add_output());
  for (const auto& v : g.value_info) value_info_to_proto(v, proto->add_value_info());
}

ir::Model model_from_proto(const onnx::ModelProto& proto, const std::string& base_dir,
                           const std::string& name_for_errors) {
  ir::Model m;
  m.path = name_for_errors;
  m.ir_version = proto.ir_version();
  for (const auto& op : proto.opset_import()) {
    m.opset_import.push_back({op.domain() == "ai.onnx" ? "" : op.domain(), op.version()});
  }
  m.producer_name = proto.producer_name();
  m.producer_version = proto.producer_version();
  m.domain = proto.domain();
  m.model_version = proto.model_version();
  m.doc_string = proto.doc_string();
  for (const auto& kv : proto.metadata_props()) m.metadata_props.emplace_back(kv.key(), kv.value());
  if (!proto.has_graph()) fail(ErrorKind::InvalidModel, name_for_errors, ": model has no graph");
  m.graph = graph_from_proto(proto.graph(), base_dir, name_for_errors);
  for (int i = 0; i < proto.training_info_size(); ++i) {
    const onnx::TrainingInfoProto& t = proto.training_info(i);
    std::string where =
        cat(name_for_errors.empty() ? "model" : name_for_errors, ": training_info ", i);
    ir::TrainingInfo info;
    info.initialization = graph_from_proto(t.initialization(), base_dir, where + " initialization");
    info.algorithm = graph_from_proto(t.algorithm(), base_dir, where + " algorithm");
    for (const auto& kv : t.initialization_binding())
      info.initialization_binding.emplace_back(kv.key(), kv.value());
    for (const auto& kv : t.update_binding())
      info.update_binding.emplace_back(kv.key(), kv.value());
    m.training_info.push_back(std::move(info));
  }
  onnx::ModelProto rest(proto);
  rest.clear_ir_version();
  rest.clear_opset_import();
  rest.clear_producer_name();
  rest.clear_producer_version();
  rest.clear_domain();
  rest.clear_model_version();
  rest.clear_doc_string();
  rest.clear_metadata_props();
  rest.clear_graph();
  rest.clear_training_info();
  if (rest.ByteSizeLong()) m.extra = rest.SerializeAsString();
  return m;
}

void model_to_proto(const ir::Model& m, onnx::ModelProto* proto) {
  proto->Clear();
  if (!m.extra.empty()) proto->ParseFromString(m.extra);
  proto->set_ir_version(m.ir_version);
  for (const auto& op : m.opset_import) {
    auto* p = proto->add_opset_import();
    p->set_domain(op.domain);
    p->set_version(op.version);
  }
  if (!m.producer_name.empty()) proto->set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) proto->set_producer_version(m.producer_version);
  if (!m.domain.empty()) proto->set_domain(m.domain);
  if (m.model_version) proto->set_model_version(m.model_version);
  if (!m.doc_string.empty()) proto->set_doc_string(m.doc_string);
  for (const auto& [k, v] : m.metadata_props) {
    auto* p = proto->add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  graph_to_proto(*m.graph, proto->mutable_graph());
  proto->clear_training_info();
  for (const ir::TrainingInfo& info : m.training_info) {
    onnx::TrainingInfoProto* t = proto->add_training_info();
    graph_to_proto(*info.initialization, t->mutable_initialization());
    graph_to_proto(*info.algorithm, t->mutable_algorithm());
    for (const auto& [k, v] : info.initialization_binding) {
      auto* kv = t->add_initialization_binding();
      kv->set_key(k);
      kv->set_value(v);
    }
    for (const auto& [k, v] : info.update_binding) {
      auto* kv = t->add_update_binding();
      kv->set_key(k);
      kv->set_value(v);
    }
  }
}

namespace {

ir::Model parse_model(google::protobuf::io::ZeroCopyInputStream& raw, const std::string& base_dir,
                      const std::string& name_for_errors) {
  onnx::ModelProto proto;
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT_MAX);
  if (!proto.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    fail(ErrorKind::InvalidModel, name_for_errors,
         ": not a valid ONNX model (the protobuf could not be parsed: truncated, not a model, "
         "or messages nested deeper than protobuf's limit of 100, about 33 levels of "
         "subgraphs)");
  }
  if (!proto.has_graph() && proto.opset_import_size() == 0) {
    fail(ErrorKind::InvalidModel, name_for_errors, ": not an ONNX model (no graph)");
  }
  // IR 11 to 13 add element types (float4e2m1, float8e8m0, int2/uint2; tensors of types
  // onyx lacks fail where they are read) and multi-device configuration hints, kept as
  // unknown fields. A newer IR may change meaning, not just add fields: refuse rather than
  // guess.
  if (proto.ir_version() > kMaxIrVersion) {
    fail(ErrorKind::Unsupported, name_for_errors, ": IR version ", proto.ir_version(),
         " is newer than onyx supports (3 to ", kMaxIrVersion, ")");
  }
  return model_from_proto(proto, base_dir, name_for_errors);
}

}  // namespace

ir::Model load_model_from_bytes(const std::string& bytes, const std::string& base_dir,
                                const std::string& name_for_errors) {
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  return parse_model(raw, base_dir, name_for_errors);
}

// Parsed from the file as it is read, not from a copy of its bytes: a model's weights are
// then held twice at most while loading (the protobuf and onyx's tensors), not three times.
ir::Model load_model(const std::string& path) {
  checked_file_size(path, size_t{2} << 30);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::Io, "cannot open '", path, "': ", std::strerror(errno));
  google::protobuf::io::FileInputStream raw(fd);
  raw.SetCloseOnDelete(true);
  try {
    return parse_model(raw, directory_of(path), path);
  } catch (const Error&) {
    // A failed read looks like a truncated model to the parser: say what it was.
    if (raw.GetErrno() != 0)
      fail(ErrorKind::Io, "cannot read '", path, "': ", std::strerror(raw.GetErrno()));
    throw;
  }
}

std::string serialize_model(const ir::Model& model) {
  onnx::ModelProto proto;
  model_to_proto(model, &proto);
  if (proto.ByteSizeLong() > static_cast<size_t>(INT_MAX)) {
    fail(ErrorKind::ResourceLimit, "model is over 2 GiB, the protobuf limit");
  }
  return proto.SerializeAsString();
}

void save_model(const ir::Model& model, const std::string& path) {
  write_file_atomic(path, serialize_model(model));
}

}  // namespace onyx::onnx_io
