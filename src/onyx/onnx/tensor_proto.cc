#include "onyx/onnx/tensor_proto.h"

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "onyx/core/file_util.h"
#include "onyx/core/narrow.h"

namespace onyx::onnx_io {

namespace fs = std::filesystem;

std::string resolve_external_path(const std::string& base_dir, const std::string& location,
                                  const std::string& context) {
  if (base_dir.empty()) {
    fail(ErrorKind::InvalidModel, context, ": external data '", location,
         "' cannot be used here (no model directory)");
  }
  fs::path loc(location);
  if (location.empty() || loc.is_absolute()) {
    fail(ErrorKind::InvalidModel, context, ": external data location '", location,
         "' must be a relative path inside the model's directory");
  }
  for (const auto& part : loc) {
    if (part == "..") {
      fail(ErrorKind::InvalidModel, context, ": external data location '", location,
           "' escapes the model's directory");
    }
  }
  std::error_code ec;
  fs::path base = fs::canonical(base_dir, ec);
  if (ec) fail(ErrorKind::Io, context, ": cannot resolve directory '", base_dir, "'");
  fs::path full = fs::canonical(base / loc, ec);
  if (ec) {
    fail(ErrorKind::Io, context, ": external data file '", (base / loc).string(),
         "' cannot be opened: ", ec.message());
  }
  auto rel = full.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") {
    fail(ErrorKind::InvalidModel, context, ": external data location '", location,
         "' resolves outside the model's directory (symlink?)");
  }
  return full.string();
}

namespace {

std::string read_external(const onnx::TensorProto& proto, const TensorReadOptions& options,
                          size_t expected_bytes) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : proto.external_data()) {
    auto parse = [&](const std::string& v) -> int64_t {
      char* end = nullptr;
      errno = 0;
      long long x = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || errno || x < 0) {
        fail(ErrorKind::InvalidModel, options.context, ": external data ", kv.key(), " '", v,
             "' is not a non-negative integer");
      }
      return x;
    };
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = parse(kv.value());
    else if (kv.key() == "length")
      length = parse(kv.value());
  }
  std::string path = resolve_external_path(options.base_dir, location, options.context);
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(ErrorKind::Io, options.context, ": cannot open external data '", path, "'");
  int64_t file_size = static_cast<int64_t>(in.tellg());
  if (length < 0) length = static_cast<int64_t>(expected_bytes);
  if (static_cast<size_t>(length) != expected_bytes) {
    fail(ErrorKind::InvalidModel, options.context, ": external data length ", length,
         " does not match the tensor's ", expected_bytes, " bytes");
  }
  if (offset > file_size || length > file_size - offset) {
    fail(ErrorKind::InvalidModel, options.context, ": external data '", location, "' offset ",
         offset, " + length ", length, " is past the end of the file (", file_size, " bytes)");
  }
  std::string bytes(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (in.gcount() != length) fail(ErrorKind::Io, options.context, ": short read of '", path, "'");
  return bytes;
}

template <typename Src, typename T>
void fill_from(const Src& src, Tensor& t, const TensorReadOptions& options, const char* field) {
  if (static_cast<int64_t>(src.size()) != t.numel()) {
    fail(ErrorKind::InvalidModel, options.context, ": ", field, " holds ", src.size(),
         " values, shape ", shape_str(t.shape()), " needs ", t.numel());
  }
  T* out = t.data<T>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
      out[i].bits = static_cast<uint16_t>(src.Get(static_cast<int>(i)));
    } else {
      out[i] = static_cast<T>(src.Get(static_cast<int>(i)));
    }
  }
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& proto, const TensorReadOptions& options) {
  DType dtype;
  if (!dtype_from_int(proto.data_type(), &dtype)) {
    fail(ErrorKind::Unsupported, options.context, ": tensor element type ", proto.data_type(),
         " is not supported");
  }
  if (proto.has_segment()) {
    fail(ErrorKind::Unsupported, options.context, ": segmented tensors are not supported");
  }
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape) {
    if (d < 0) {
      fail(ErrorKind::InvalidModel, options.context, ": tensor dims ", shape_str(shape),
           " has a negative dimension");
    }
  }
  Tensor t = Tensor::empty(dtype, shape);
  size_t bytes = dtype_file_bytes(dtype, t.numel());  // packed for the 2- and 4-bit types
  bool external = proto.data_location() == onnx::TensorProto::EXTERNAL;
  if (external || proto.has_raw_data()) {
    if (dtype == DType::String) {
      fail(ErrorKind::InvalidModel, options.context, ": string tensors cannot use raw_data");
    }
    std::string ext;
    const std::string& raw =
        external ? (ext = read_external(proto, options, bytes)) : proto.raw_data();
    if (raw.size() != bytes) {
      fail(ErrorKind::InvalidModel, options.context, ": raw_data has ", raw.size(),
           " bytes, shape ", shape_str(shape), " of ", dtype_name(dtype), " needs ", bytes);
    }
    if (is_narrow(dtype)) {
      unpack_narrow(dtype, reinterpret_cast<const uint8_t*>(raw.data()), t.numel(),
                    t.data<uint8_t>());
    } else if (bytes) {
      std::memcpy(t.raw_data(), raw.data(), bytes);
    }
    return t;
  }
  if (is_narrow(dtype)) {  // int32_data: one packed byte per value
    if (static_cast<size_t>(proto.int32_data_size()) != bytes) {
      fail(ErrorKind::InvalidModel, options.context, ": int32_data holds ", proto.int32_data_size(),
           " values, shape ", shape_str(shape), " of ", dtype_name(dtype), " needs ", bytes);
    }
    std::vector<uint8_t> packed(proto.int32_data().begin(), proto.int32_data().end());
    unpack_narrow(dtype, packed.data(), t.numel(), t.data<uint8_t>());
    return t;
  }
  switch (dtype) {
    case DType::Float32:
      fill_from<decltype(proto.float_data()), float>(proto.float_data(), t, options, "float_data");
      break;
    case DType::Float64:
      fill_from<decltype(proto.double_data()), double>(proto.double_data(), t, options,
                                                       "double_data");
      break;
    case DType::Int64:
      fill_from<decltype(proto.int64_data()), int64_t>(proto.int64_data(), t, options,
                                                       "int64_data");
      break;
    case DType::UInt32:
      fill_from<decltype(proto.uint64_data()), uint32_t>(proto.uint64_data(), t, options,
                                                         "uint64_data");
      break;
    case DType::UInt64:
      fill_from<decltype(proto.uint64_data()), uint64_t>(proto.uint64_data(), t, options,
                                                         "uint64_data");
      break;
    case DType::Int32:
      fill_from<decltype(proto.int32_data()), int32_t>(proto.int32_data(), t, options,
                                                       "int32_data");
      break;
    case DType::Int16:
      fill_from<decltype(proto.int32_data()), int16_t>(proto.int32_data(), t, options,
                                                       "int32_data");
      break;
    case DType::Int8:
      fill_from<decltype(proto.int32_data()), int8_t>(proto.int32_data(), t, options, "int32_data");
      break;
    case DType::UInt16:
      fill_from<decltype(proto.int32_data()), uint16_t>(proto.int32_data(), t, options,
                                                        "int32_data");
      break;
    case DType::UInt8:
      fill_from<decltype(proto.int32_data()), uint8_t>(proto.int32_data(), t, options,
                                                       "int32_data");
      break;
    case DType::Bool:
      fill_from<decltype(proto.int32_data()), bool>(proto.int32_data(), t, options, "int32_data");
      break;
    case DType::Float16:
      fill_from<decltype(proto.int32_data()), Float16>(proto.int32_data(), t, options,
                                                       "int32_data");
      break;
    case DType::BFloat16:
      fill_from<decltype(proto.int32_data()), BFloat16>(proto.int32_data(), t, options,
                                                        "int32_data");
      break;
    case DType::String: {
      if (proto.string_data_size() != t.numel()) {
        fail(ErrorKind::InvalidModel, options.context, ": string_data holds ",
             proto.string_data_size(), " values, shape ", shape_str(shape), " needs ", t.numel());
      }
      for (int64_t i = 0; i < t.numel(); ++i)
        t.data<std::string>()[i] = proto.string_data(static_cast<int>(i));
      break;
    }
    case DType::Complex64:
    case DType::Complex128: {
      bool c64 = dtype == DType::Complex64;
      int n = c64 ? proto.float_data_size() : proto.double_data_size();
      if (n != 2 * t.numel()) {
        fail(ErrorKind::InvalidModel, options.context, ": complex data holds ", n,
             " values, shape ", shape_str(shape), " needs ", 2 * t.numel());
      }
      for (int64_t i = 0; i < 2 * t.numel(); ++i) {
        int k = static_cast<int>(i);
        if (c64)
          t.data<float>()[i] = proto.float_data(k);
        else
          t.data<double>()[i] = proto.double_data(k);
      }
      break;
    }
    default:
      fail(ErrorKind::Unsupported, options.context, ": element type ", dtype_name(dtype));
  }
  return t;
}

void tensor_to_proto(const Tensor& t, onnx::TensorProto* proto) {
  proto->set_data_type(static_cast<int32_t>(t.dtype()));
  proto->clear_dims();
  for (int64_t d : t.shape()) proto->add_dims(d);
  if (t.dtype() == DType::String) {
    for (int64_t i = 0; i < t.numel(); ++i) proto->add_string_data(t.data<std::string>()[i]);
  } else if (is_narrow(t.dtype())) {
    std::string packed(dtype_file_bytes(t.dtype(), t.numel()), '\0');
    pack_narrow(t.dtype(), t.data<uint8_t>(), t.numel(), reinterpret_cast<uint8_t*>(packed.data()));
    proto->set_raw_data(std::move(packed));
  } else {
    proto->set_raw_data(t.raw_data(), t.nbytes());
  }
}

Tensor tensor_from_sparse_proto(const onnx::SparseTensorProto& proto,
                                const TensorReadOptions& options) {
  Tensor values = tensor_from_proto(proto.values(), options);
  Tensor indices = tensor_from_proto(proto.indices(), options);
  Shape shape(proto.dims().begin(), proto.dims().end());
  Tensor dense = Tensor::zeros(values.dtype(), shape);
  int64_t nnz = values.numel();
  int64_t total = dense.numel();
  std::vector<int64_t> idx = indices.to_int64s();
  auto strides = shape_strides(shape);
  size_t elem = dtype_size(values.dtype());
  bool linear = indices.rank() == 1;
  if ((linear && indices.numel() != nnz) ||
      (!linear && (indices.rank() != 2 || indices.dim(0) != nnz ||
                   indices.dim(1) != static_cast<int64_t>(shape.size())))) {
    fail(ErrorKind::InvalidModel, options.context, ": sparse tensor indices have shape ",
         shape_str(indices.shape()), ", which does not fit ", nnz, " values of rank ",
         shape.size());
  }
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t pos = 0;
    if (linear) {
      pos = idx[k];
    } else {
      for (size_t d = 0; d < shape.size(); ++d) {
        int64_t i = idx[k * shape.size() + d];
        if (i < 0 || i >= shape[d]) pos = -1;
        if (pos >= 0) pos += i * strides[d];
      }
    }
    if (pos < 0 || pos >= total) {
      fail(ErrorKind::InvalidModel, options.context, ": sparse tensor index out of range");
    }
    if (values.dtype() == DType::String) {
      dense.data<std::string>()[pos] = values.data<std::string>()[k];
    } else {
      std::memcpy(static_cast<char*>(dense.raw_data()) + pos * elem,
                  static_cast<const char*>(values.raw_data()) + k * elem, elem);
    }
  }
  return dense;
}

}  // namespace onyx::onnx_io
