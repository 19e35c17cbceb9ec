// NumPy .npy format, version 1.0-3.0: magic, header length, a Python dict literal with
// descr, fortran_order and shape, then the raw little-endian elements.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "onyx/core/file_util.h"
#include "onyx/onnx/value_files.h"

namespace onyx::onnx_io {

namespace {

struct NpyType {
  const char* descr;
  DType dtype;
};
constexpr NpyType kNpyTypes[] = {
    {"f4", DType::Float32},   {"f8", DType::Float64},     {"f2", DType::Float16},
    {"i1", DType::Int8},      {"i2", DType::Int16},       {"i4", DType::Int32},
    {"i8", DType::Int64},     {"u1", DType::UInt8},       {"u2", DType::UInt16},
    {"u4", DType::UInt32},    {"u8", DType::UInt64},      {"b1", DType::Bool},
    {"c8", DType::Complex64}, {"c16", DType::Complex128},
};

std::string dict_value(const std::string& header, const std::string& key, const std::string& ctx) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos)
    fail(ErrorKind::InvalidArgument, ctx, ": .npy header lacks '", key, "'");
  size_t colon = header.find(':', k);
  if (colon == std::string::npos) fail(ErrorKind::InvalidArgument, ctx, ": bad .npy header");
  size_t start = header.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos) fail(ErrorKind::InvalidArgument, ctx, ": bad .npy header");
  size_t end;
  if (header[start] == '(') {
    end = header.find(')', start);
    if (end == std::string::npos) fail(ErrorKind::InvalidArgument, ctx, ": bad .npy shape");
    return header.substr(start, end - start + 1);
  }
  end = header.find_first_of(",}", start);
  return header.substr(start, end - start);
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& ctx) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    fail(ErrorKind::InvalidArgument, ctx, ": not a .npy file (bad magic)");
  }
  int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len;
  size_t pos;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    pos = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(ErrorKind::InvalidArgument, ctx, ": truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i)
      header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    pos = 12;
  } else {
    fail(ErrorKind::Unsupported, ctx, ": .npy version ", major, " is not supported");
  }
  if (pos + header_len > bytes.size())
    fail(ErrorKind::InvalidArgument, ctx, ": truncated .npy header");
  std::string header = bytes.substr(pos, header_len);
  pos += header_len;
  std::string descr = dict_value(header, "descr", ctx);
  descr.erase(std::remove(descr.begin(), descr.end(), '\''), descr.end());
  std::string fortran = dict_value(header, "fortran_order", ctx);
  std::string shape_text = dict_value(header, "shape", ctx);
  if (fortran.find("True") != std::string::npos) {
    fail(ErrorKind::Unsupported, ctx, ": Fortran-ordered .npy arrays are not supported");
  }
  if (descr.size() < 2 || descr[0] == '>') {
    fail(ErrorKind::Unsupported, ctx, ": .npy element type '", descr, "' is not supported");
  }
  std::string code =
      (descr[0] == '<' || descr[0] == '|' || descr[0] == '=') ? descr.substr(1) : descr;
  DType dtype = DType::Undefined;
  for (const auto& t : kNpyTypes) {
    if (code == t.descr) dtype = t.dtype;
  }
  if (code == "?") dtype = DType::Bool;
  if (dtype == DType::Undefined) {
    fail(ErrorKind::Unsupported, ctx, ": .npy element type '", descr, "' is not supported");
  }
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') {
    fail(ErrorKind::InvalidArgument, ctx, ": bad .npy shape '", shape_text, "' (not a tuple)");
  }
  // The shape's byte count is checked against the data before anything is allocated.
  Shape shape;
  size_t need = dtype_size(dtype);
  std::string inner = shape_text.substr(1, shape_text.size() - 2);
  size_t i = 0;
  while (i < inner.size()) {
    size_t j = inner.find(',', i);
    std::string item = inner.substr(i, j == std::string::npos ? std::string::npos : j - i);
    item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
    if (!item.empty() && item.back() == 'L') item.pop_back();  // Python 2's long literals
    if (!item.empty() || j != std::string::npos) {
      int64_t d = -1;
      auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), d);
      if (ec != std::errc() || end != item.data() + item.size() || d < 0) {
        fail(ErrorKind::InvalidArgument, ctx, ": bad .npy shape ", shape_text);
      }
      shape.push_back(d);
      if (d && need > std::numeric_limits<size_t>::max() / static_cast<size_t>(d)) {
        fail(ErrorKind::InvalidArgument, ctx, ": .npy shape ", shape_text,
             " overflows a byte count");
      }
      need *= static_cast<size_t>(d);
    }
    if (j == std::string::npos) break;
    i = j + 1;
    // "(3,)": a trailing comma ends the tuple.
    if (inner.find_first_not_of(' ', i) == std::string::npos) break;
  }
  if (bytes.size() - pos != need) {
    fail(ErrorKind::InvalidArgument, ctx, ": .npy data has ", bytes.size() - pos, " bytes, shape ",
         shape_str(shape), " needs ", need);
  }
  Tensor t = Tensor::empty(dtype, shape);
  if (t.nbytes()) std::memcpy(t.raw_data(), bytes.data() + pos, t.nbytes());
  if (dtype == DType::Bool) {  // a bool byte other than 0 or 1 is undefined behaviour to read
    const uint8_t* b = static_cast<const uint8_t*>(t.raw_data());
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (b[i] > 1) {
        fail(ErrorKind::InvalidArgument, ctx, ": .npy bool element ", i, " is byte ", int{b[i]},
             ", not 0 or 1");
      }
    }
  }
  return t;
}

Tensor load_npy(const std::string& path) {
  return parse_npy(read_file(path, size_t{4} << 30), path);
}

void save_npy(const Tensor& t, const std::string& path) {
  const char* code = nullptr;
  for (const auto& nt : kNpyTypes) {
    if (nt.dtype == t.dtype()) code = nt.descr;
  }
  if (!code) fail(ErrorKind::Unsupported, "cannot write ", dtype_name(t.dtype()), " to .npy");
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ",";
  if (t.rank() > 1) shape.pop_back();
  shape += ")";
  std::string header = std::string("{'descr': '") +
                       (t.dtype() == DType::Bool ? "|b1" : std::string("<") + code) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.append(static_cast<const char*>(t.raw_data()), t.nbytes());
  write_file_atomic(path, out);
}

}  // namespace onyx::onnx_io
