#include "onyx/onnx/value_files.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <cstring>

#include "onnx/onnx-data_pb.h"
#include "onnx/onnx_pb.h"
#include "onyx/core/file_util.h"
#include "onyx/onnx/tensor_proto.h"

namespace onyx::onnx_io {

namespace {

template <typename Proto>
bool parse_exact(const std::string& bytes, Proto* proto) {
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT_MAX);
  return proto->ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

Value from_sequence(const onnx::SequenceProto& s, const std::string& ctx);

// A MapProto: int64 or string keys, and a sequence of as many values (scalar tensors, as
// ONNX's numpy_helper writes them, or one 1-D tensor of them all).
Value from_map(const onnx::MapProto& m, const std::string& ctx) {
  bool strings = m.key_type() == static_cast<int32_t>(DType::String);
  int64_t n = strings ? m.string_keys_size() : m.keys_size();
  Tensor keys = Tensor::empty(strings ? DType::String : DType::Int64, {n});
  for (int64_t i = 0; i < n; ++i) {
    if (strings) {
      keys.data<std::string>()[i] = m.string_keys(static_cast<int>(i));
    } else {
      keys.data<int64_t>()[i] = m.keys(static_cast<int>(i));
    }
  }
  Value values = from_sequence(m.values(), ctx);
  std::vector<Tensor> parts;
  for (const auto& v : values.items()) {
    if (!v.is_tensor()) fail(ErrorKind::Unsupported, ctx, ": map values must be tensors");
    parts.push_back(v.tensor());
  }
  if (parts.size() == 1 && parts[0].numel() == n && n != 1) return Value::map(keys, parts[0]);
  if (static_cast<int64_t>(parts.size()) != n) {
    fail(ErrorKind::InvalidArgument, ctx, ": map has ", n, " keys and ", parts.size(), " values");
  }
  DType t = n ? parts[0].dtype() : DType::Float32;
  Tensor out = Tensor::empty(t, {n});
  for (int64_t i = 0; i < n; ++i) {
    if (parts[i].numel() != 1 || parts[i].dtype() != t)
      fail(ErrorKind::Unsupported, ctx, ": map values must be scalars of one type");
    if (t == DType::String) {
      out.data<std::string>()[i] = parts[i].data<std::string>()[0];
    } else {
      std::memcpy(static_cast<char*>(out.raw_data()) + i * dtype_size(t), parts[i].raw_data(),
                  dtype_size(t));
    }
  }
  return Value::map(keys, out);
}

void to_map(const Value& v, onnx::MapProto* m) {
  const Tensor &keys = v.keys(), &values = v.values();
  m->set_key_type(static_cast<int32_t>(keys.dtype()));
  for (int64_t i = 0; i < keys.numel(); ++i) {
    if (keys.dtype() == DType::String) {
      m->add_string_keys(keys.data<std::string>()[i]);
    } else {
      m->add_keys(keys.to_int64s()[static_cast<size_t>(i)]);
    }
  }
  onnx::SequenceProto* s = m->mutable_values();
  s->set_elem_type(onnx::SequenceProto::TENSOR);
  for (int64_t i = 0; i < values.numel(); ++i) {
    Tensor one = Tensor::empty(values.dtype(), {});
    if (values.dtype() == DType::String) {
      one.data<std::string>()[0] = values.data<std::string>()[i];
    } else {
      std::memcpy(one.raw_data(),
                  static_cast<const char*>(values.raw_data()) + i * dtype_size(values.dtype()),
                  dtype_size(values.dtype()));
    }
    tensor_to_proto(one, s->add_tensor_values());
  }
}

Value from_optional(const onnx::OptionalProto& o, const std::string& ctx) {
  TensorReadOptions opt{"", ctx};
  switch (o.elem_type()) {
    case onnx::OptionalProto::TENSOR:
      if (o.has_tensor_value()) {
        return Value::optional(std::make_shared<Value>(tensor_from_proto(o.tensor_value(), opt)));
      }
      break;
    case onnx::OptionalProto::SEQUENCE:
      if (o.has_sequence_value()) {
        return Value::optional(std::make_shared<Value>(from_sequence(o.sequence_value(), ctx)));
      }
      break;
    case onnx::OptionalProto::UNDEFINED:
      break;
    default:
      fail(ErrorKind::Unsupported, ctx, ": optional of this element type is not supported");
  }
  return Value::optional(nullptr);
}

Value from_sequence(const onnx::SequenceProto& s, const std::string& ctx) {
  TensorReadOptions opt{"", ctx};
  std::vector<Value> items;
  switch (s.elem_type()) {
    case onnx::SequenceProto::TENSOR:
      for (const auto& t : s.tensor_values()) items.emplace_back(tensor_from_proto(t, opt));
      break;
    case onnx::SequenceProto::SEQUENCE:
      for (const auto& q : s.sequence_values()) items.push_back(from_sequence(q, ctx));
      break;
    case onnx::SequenceProto::OPTIONAL:
      for (const auto& q : s.optional_values()) items.push_back(from_optional(q, ctx));
      break;
    case onnx::SequenceProto::MAP:
      for (const auto& q : s.map_values()) items.push_back(from_map(q, ctx));
      break;
    case onnx::SequenceProto::UNDEFINED:
      break;
    default:
      fail(ErrorKind::Unsupported, ctx, ": sequence of sparse tensors");
  }
  return Value::sequence(std::move(items));
}

void to_sequence(const Value& v, onnx::SequenceProto* s);

void to_optional(const Value& v, onnx::OptionalProto* o) {
  if (!v.inner()) return;
  const Value& in = *v.inner();
  if (in.is_tensor()) {
    o->set_elem_type(onnx::OptionalProto::TENSOR);
    tensor_to_proto(in.tensor(), o->mutable_tensor_value());
  } else if (in.is_sequence()) {
    o->set_elem_type(onnx::OptionalProto::SEQUENCE);
    to_sequence(in, o->mutable_sequence_value());
  }
}

void to_sequence(const Value& v, onnx::SequenceProto* s) {
  for (const auto& item : v.items()) {
    if (item.is_tensor()) {
      s->set_elem_type(onnx::SequenceProto::TENSOR);
      tensor_to_proto(item.tensor(), s->add_tensor_values());
    } else if (item.is_sequence()) {
      s->set_elem_type(onnx::SequenceProto::SEQUENCE);
      to_sequence(item, s->add_sequence_values());
    } else if (item.is_optional()) {
      s->set_elem_type(onnx::SequenceProto::OPTIONAL);
      to_optional(item, s->add_optional_values());
    } else if (item.is_map()) {
      s->set_elem_type(onnx::SequenceProto::MAP);
      to_map(item, s->add_map_values());
    }
  }
  if (v.items().empty()) s->set_elem_type(onnx::SequenceProto::TENSOR);
}

}  // namespace

Value parse_value_pb(const std::string& bytes, const ir::TypeInfo* hint, const std::string& ctx) {
  using K = ir::TypeInfo::Kind;
  K kind = hint ? hint->kind : K::Tensor;
  if (kind == K::Sequence) {
    onnx::SequenceProto s;
    if (!parse_exact(bytes, &s)) fail(ErrorKind::InvalidArgument, ctx, ": not a SequenceProto");
    return from_sequence(s, ctx);
  }
  if (kind == K::Map) {
    onnx::MapProto m;
    if (!parse_exact(bytes, &m)) fail(ErrorKind::InvalidArgument, ctx, ": not a MapProto");
    return from_map(m, ctx);
  }
  if (kind == K::Optional) {
    onnx::OptionalProto o;
    if (!parse_exact(bytes, &o)) fail(ErrorKind::InvalidArgument, ctx, ": not an OptionalProto");
    return from_optional(o, ctx);
  }
  onnx::TensorProto t;
  if (!parse_exact(bytes, &t)) {
    fail(ErrorKind::InvalidArgument, ctx, ": not a valid TensorProto (truncated or garbage)");
  }
  return tensor_from_proto(t, TensorReadOptions{"", ctx});
}

Value load_value_file(const std::string& path, const ir::TypeInfo* hint) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0) return load_npy(path);
  return parse_value_pb(read_file(path, size_t{2} << 30), hint, path);
}

void save_value_pb(const Value& value, const std::string& name, const std::string& path) {
  std::string bytes;
  if (value.is_tensor()) {
    onnx::TensorProto t;
    tensor_to_proto(value.tensor(), &t);
    t.set_name(name);
    bytes = t.SerializeAsString();
  } else if (value.is_sequence()) {
    onnx::SequenceProto s;
    to_sequence(value, &s);
    s.set_name(name);
    bytes = s.SerializeAsString();
  } else if (value.is_optional()) {
    onnx::OptionalProto o;
    to_optional(value, &o);
    o.set_name(name);
    bytes = o.SerializeAsString();
  } else if (value.is_map()) {
    onnx::MapProto m;
    to_map(value, &m);
    m.set_name(name);
    bytes = m.SerializeAsString();
  } else {
    fail(ErrorKind::InvalidArgument, "cannot save an empty value to '", path, "'");
  }
  write_file_atomic(path, bytes);
}

}  // namespace onyx::onnx_io
