#include "onyx/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "onyx/core/error.h"
#include "onyx/core/file_util.h"
#include "onyx/data/bytes.h"

namespace onyx::data {

namespace {

// Where IDX bytes come from: a file (inflated when it is gzip; zlib's gzread reads plain
// files as they are) or memory. read() fills up to n bytes and returns how many it did.
class Source {
 public:
  virtual ~Source() = default;
  virtual size_t read(void* out, size_t n) = 0;
};

class GzFile : public Source {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    require_regular_file(path);
    f_ = gzopen(path.c_str(), "rb");
    if (!f_) fail(ErrorKind::Io, path, ": cannot open");
  }
  ~GzFile() override { gzclose(f_); }
  size_t read(void* out, size_t n) override {
    size_t done = 0;
    auto* at = static_cast<char*>(out);
    while (done < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      int got = gzread(f_, at + done, chunk);
      if (got < 0) {
        int code = 0;
        fail(ErrorKind::Io, path_, ": cannot read: ", gzerror(f_, &code));
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile f_;
};

class Memory : public Source {
 public:
  explicit Memory(std::string_view bytes) : bytes_(bytes) {}
  size_t read(void* out, size_t n) override {
    n = std::min(n, bytes_.size() - at_);
    std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
    return n;
  }

 private:
  std::string_view bytes_;
  size_t at_ = 0;
};

// The header is read and its sizes checked before the body is allocated, so a small
// (compressed) file cannot promise gigabytes; the body is read straight into the tensor.
Tensor read_idx_from(Source& in, const std::string& name, size_t max_bytes) {
  uint8_t magic[4];
  if (in.read(magic, 4) < 4 || magic[0] != 0 || magic[1] != 0) {
    fail(ErrorKind::InvalidArgument, name, ": not an IDX file (bad magic number)");
  }
  DType type;
  size_t elem;
  switch (magic[2]) {
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
      fail(ErrorKind::InvalidArgument, name, ": unknown IDX element type 0x", std::hex,
           int(magic[2]));
  }
  size_t rank = magic[3];
  std::string dims(4 * rank, '\0');
  if (in.read(dims.data(), dims.size()) < dims.size()) {
    fail(ErrorKind::InvalidArgument, name, ": truncated header");
  }
  Shape shape;
  size_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    shape.push_back(be32(dims, 4 * i));
    count *= static_cast<size_t>(shape.back());
    if (count > max_bytes / elem) {
      fail(ErrorKind::ResourceLimit, name, ": the header promises more than ", max_bytes,
           " bytes of data (dimensions ", shape_str(shape), rank > shape.size() ? "..." : "", ")");
    }
  }
  size_t need = count * elem;
  Tensor t = Tensor::empty(type, shape);
  auto* out = static_cast<uint8_t*>(t.raw_data());
  size_t got = in.read(out, need);
  if (got < need) {
    fail(ErrorKind::InvalidArgument, name, ": truncated: the header promises ", need,
         " bytes of data, the file holds ", got);
  }
  // Big-endian elements: reverse the bytes of each.
  if (elem > 1) {
    for (size_t i = 0; i < count; ++i) std::reverse(out + i * elem, out + (i + 1) * elem);
  }
  return t;
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
  GzFile in(path);
  return read_idx_from(in, path, max_bytes);
}

Tensor parse_idx(std::string_view bytes, const std::string& name, size_t max_bytes) {
  Memory in(bytes);
  return read_idx_from(in, name, max_bytes);
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
