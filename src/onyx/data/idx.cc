#include "onyx/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "onyx/core/error.h"
#include "onyx/data/bytes.h"

namespace onyx::data {

namespace {

// The whole file, inflated when it is gzip (zlib's gzread reads plain files as they are).
std::string read_maybe_gz(const std::string& path, size_t max_bytes) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail(ErrorKind::Io, path, ": cannot open");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(f, &code);
      gzclose(f);
      fail(ErrorKind::Io, path, ": cannot read: ", why);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      gzclose(f);
      fail(ErrorKind::ResourceLimit, path, ": larger than ", max_bytes, " bytes");
    }
  }
  gzclose(f);
  return out;
}

// The one file of `dir` whose name is `<anything>{split}-{kind}-idx<r>-ubyte[.gz]`
// for one of `splits`: MNIST's names, and EMNIST's prefixed ones
// ("emnist-letters-train-images-idx3-ubyte.gz").
std::string find_file(const std::string& dir, const std::vector<std::string>& splits,
                      const std::string& kind) {
  if (!std::filesystem::is_directory(dir)) fail(ErrorKind::Io, dir, ": not a directory");
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".gz")) name.resize(name.size() - 3);
    for (const auto& split : splits) {
      std::string tail = split + "-" + kind;
      bool match = name.ends_with(tail) &&
                   (name.size() == tail.size() || name[name.size() - tail.size() - 1] == '-');
      if (match) found.push_back(entry.path().string());
    }
  }
  std::string want = splits[0] + "-" + kind;
  if (found.empty()) fail(ErrorKind::Io, dir, ": no ", want, " file (plain or .gz)");
  if (found.size() > 1) {
    std::sort(found.begin(), found.end());
    std::string list;
    for (const auto& f : found) list += " " + f;
    fail(ErrorKind::InvalidArgument, dir, ": several ", want, " files:", list);
  }
  return found[0];
}

}  // namespace

Tensor read_idx(const std::string& path, size_t max_bytes) {
  std::string bytes = read_maybe_gz(path, max_bytes);
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) {
    fail(ErrorKind::InvalidArgument, path, ": not an IDX file (bad magic number)");
  }
  DType type;
  size_t elem;
  switch (uint8_t(bytes[2])) {
    case 0x08:
      type = DType::UInt8, elem = 1;
      break;
    case 0x09:
      type = DType::Int8, elem = 1;
      break;
    case 0x0B:
      type = DType::Int16, elem = 2;
      break;
    case 0x0C:
      type = DType::Int32, elem = 4;
      break;
    case 0x0D:
      type = DType::Float32, elem = 4;
      break;
    case 0x0E:
      type = DType::Float64, elem = 8;
      break;
    default:
      fail(ErrorKind::InvalidArgument, path, ": unknown IDX element type 0x", std::hex,
           int(uint8_t(bytes[2])));
  }
  size_t rank = uint8_t(bytes[3]);
  if (bytes.size() < 4 + 4 * rank) fail(ErrorKind::InvalidArgument, path, ": truncated header");
  Shape shape;
  size_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    shape.push_back(be32(bytes, 4 + 4 * i));
    count *= static_cast<size_t>(shape.back());
    if (count > max_bytes) fail(ErrorKind::ResourceLimit, path, ": dimensions too large");
  }
  size_t start = 4 + 4 * rank, need = count * elem;
  if (bytes.size() - start < need) {
    fail(ErrorKind::InvalidArgument, path, ": truncated: the header promises ", need,
         " bytes of data, the file holds ", bytes.size() - start);
  }
  Tensor t = Tensor::empty(type, shape);
  auto* out = static_cast<uint8_t*>(t.raw_data());
  // Big-endian elements: reverse the bytes of each.
  for (size_t i = 0; i < count; ++i) {
    for (size_t b = 0; b < elem; ++b)
      out[i * elem + b] = uint8_t(bytes[start + i * elem + elem - 1 - b]);
  }
  return t;
}

Dataset load_mnist(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "test") {
    fail(ErrorKind::InvalidArgument, "split '", split, "' is not train or test");
  }
  std::vector<std::string> names = split == "train" ? std::vector<std::string>{"train"}
                                                    : std::vector<std::string>{"t10k", "test"};
  std::string ipath = find_file(dir, names, "images-idx3-ubyte");
  std::string lpath = find_file(dir, names, "labels-idx1-ubyte");
  Tensor images = read_idx(ipath), labels = read_idx(lpath);
  if (images.dtype() != DType::UInt8 || images.rank() != 3) {
    fail(ErrorKind::InvalidArgument, ipath, ": expected uint8 images [N, H, W], got ",
         dtype_name(images.dtype()), shape_str(images.shape()));
  }
  if (labels.dtype() != DType::UInt8 || labels.rank() != 1) {
    fail(ErrorKind::InvalidArgument, lpath, ": expected uint8 labels [N], got ",
         dtype_name(labels.dtype()), shape_str(labels.shape()));
  }
  if (images.dim(0) != labels.dim(0)) {
    fail(ErrorKind::InvalidArgument, dir, ": ", images.dim(0), " images but ", labels.dim(0),
         " labels (", ipath, ", ", lpath, ")");
  }
  Tensor pixels = Tensor::empty(DType::Float32, {images.dim(0), 1, images.dim(1), images.dim(2)});
  pixels_to_unit(images.data<uint8_t>(), images.numel(), pixels.data<float>());
  Tensor classes = Tensor::empty(DType::Int64, {labels.dim(0)});
  for (int64_t i = 0; i < labels.numel(); ++i)
    classes.data<int64_t>()[i] = labels.data<uint8_t>()[i];
  Dataset d(dir);
  d.add("images", pixels);
  d.add("labels", classes);
  return d;
}

bool is_mnist_dir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return false;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".gz")) name.resize(name.size() - 3);
    if (name.ends_with("images-idx3-ubyte")) return true;
  }
  return false;
}

void pixels_to_unit(const uint8_t* pixels, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(pixels[i]) / 255.0f;
}

}  // namespace onyx::data
