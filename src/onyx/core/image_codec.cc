// decode_image_bytes: the format from the first bytes, then its decoder; and the netpbm
// formats (PNM), simple enough to read here.
#include "onyx/core/image_codec.h"

#include "onyx/core/error.h"
#include "onyx/core/image_codec_formats.h"

namespace onyx {

namespace image_codec {

void check_size(const std::string& name, int64_t width, int64_t height) {
  if (width < 1 || height < 1) {
    fail(ErrorKind::InvalidArgument, name, ": image is ", width, "x", height, " pixels");
  }
  if (width > kMaxImageSide || height > kMaxImageSide) {
    fail(ErrorKind::ResourceLimit, name, ": image is ", width, "x", height,
         " pixels, over the limit of ", kMaxImageSide, " a side");
  }
}

namespace {

bool is_pnm_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Reads a PNM file's header numbers and ASCII samples: whitespace and '#' comments (to the
// end of the line) between them.
class PnmCursor {
 public:
  PnmCursor(std::string_view bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  void skip_space() {
    while (at_ < bytes_.size()) {
      if (bytes_[at_] == '#') {
        while (at_ < bytes_.size() && bytes_[at_] != '\n' && bytes_[at_] != '\r') ++at_;
      } else if (is_pnm_space(bytes_[at_])) {
        ++at_;
      } else {
        return;
      }
    }
  }
  // A decimal number of up to `max`; `what` names it in errors.
  int64_t number(const char* what, int64_t max) {
    skip_space();
    size_t start = at_;
    int64_t v = 0;
    while (at_ < bytes_.size() && bytes_[at_] >= '0' && bytes_[at_] <= '9') {
      v = v * 10 + (bytes_[at_++] - '0');
      if (v > max) fail(ErrorKind::InvalidArgument, name_, ": PNM ", what, " over ", max);
    }
    if (at_ == start) {
      fail(ErrorKind::InvalidArgument, name_, ": PNM ", what,
           at_ < bytes_.size() ? " is not a number" : " missing (truncated file)");
    }
    return v;
  }
  // A P1 bitmap sample: one digit, with or without whitespace around it.
  int64_t bit() {
    skip_space();
    if (at_ == bytes_.size()) fail(ErrorKind::InvalidArgument, name_, ": truncated PBM data");
    char c = bytes_[at_++];
    if (c != '0' && c != '1') {
      fail(ErrorKind::InvalidArgument, name_, ": PBM sample '", c, "' is not 0 or 1");
    }
    return c - '0';
  }
  // The binary raster: after exactly one whitespace byte, at least `n` bytes.
  const uint8_t* raster(size_t n) {
    if (at_ == bytes_.size() || !is_pnm_space(bytes_[at_]) || bytes_.size() - at_ - 1 < n) {
      fail(ErrorKind::InvalidArgument, name_, ": truncated PNM data (", n, " bytes expected)");
    }
    return reinterpret_cast<const uint8_t*>(bytes_.data()) + at_ + 1;
  }
  void skip(size_t n) { at_ += n; }
  size_t left() const { return bytes_.size() - at_; }

 private:
  std::string_view bytes_;
  const std::string& name_;
  size_t at_ = 0;
};

// v / maxval * 255 rounded half to even: PIL's round(value / maxval * 255), done exactly.
uint8_t scale_sample(int64_t v, int64_t maxval) {
  int64_t q = v * 255 / maxval, r = v * 255 % maxval;
  if (2 * r > maxval || (2 * r == maxval && q % 2 == 1)) ++q;
  return static_cast<uint8_t>(q);
}

}  // namespace

// P1/P4 bitmaps (1 is black), P2/P5 grey, P3/P6 RGB; ASCII or binary (big-endian 16-bit
// samples when maxval is over 255). Samples are stretched to 0..255 as PIL does.
Tensor read_pnm(std::string_view bytes, const std::string& name) {
  const char kind = bytes[1];
  const bool bitmap = kind == '1' || kind == '4', ascii = kind <= '3';
  const int64_t channels = kind == '3' || kind == '6' ? 3 : 1;
  PnmCursor in(bytes, name);
  in.skip(2);
  // Sides up to 2^31 parse, so that an over-large image is a ResourceLimit as elsewhere.
  constexpr int64_t kMaxNumber = int64_t{1} << 31;
  int64_t w = in.number("width", kMaxNumber), h = in.number("height", kMaxNumber);
  int64_t maxval = bitmap ? 1 : in.number("maxval", 65535);
  if (maxval < 1) fail(ErrorKind::InvalidArgument, name, ": PNM maxval 0");
  check_size(name, w, h);
  const int64_t n = w * h * channels;
  // The raster is found (binary) or bounded (ASCII: a byte a sample at least) before the
  // pixels are allocated, so that a short file cannot claim a huge image.
  const int64_t sample_bytes = maxval > 255 ? 2 : 1, row_bytes = (w + 7) / 8;
  const uint8_t* raster = nullptr;
  if (kind == '4') {
    raster = in.raster(static_cast<size_t>(row_bytes * h));
  } else if (!ascii) {
    raster = in.raster(static_cast<size_t>(n * sample_bytes));
  } else if (in.left() < static_cast<size_t>(n)) {
    fail(ErrorKind::InvalidArgument, name, ": truncated PNM data (", n, " samples expected)");
  }
  Tensor t = Tensor::empty(DType::UInt8, {h, w, channels});
  uint8_t* out = t.data<uint8_t>();
  if (kind == '4') {  // rows of bits, each row padded to whole bytes; 1 is black
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        int bit = (raster[y * row_bytes + x / 8] >> (7 - x % 8)) & 1;
        out[y * w + x] = bit ? 0 : 255;
      }
    }
    return t;
  }
  auto store = [&](int64_t i, int64_t v) {
    if (v > maxval) {
      fail(ErrorKind::InvalidArgument, name, ": PNM sample ", v, " over maxval ", maxval);
    }
    out[i] = bitmap ? static_cast<uint8_t>(v ? 0 : 255) : scale_sample(v, maxval);
  };
  for (int64_t i = 0; i < n; ++i) {
    if (ascii) {
      store(i, bitmap ? in.bit() : in.number("sample", 65535));
    } else {
      store(i, sample_bytes == 2 ? (raster[2 * i] << 8) | raster[2 * i + 1] : raster[i]);
    }
  }
  return t;
}

}  // namespace image_codec

Tensor decode_image_bytes(std::string_view bytes, const std::string& name) {
  using namespace image_codec;
  if (bytes.starts_with("\x89PNG\r\n\x1a\n")) return read_png(bytes, name);
  if (bytes.starts_with("\xff\xd8\xff")) return read_jpeg(bytes, name);
  if (bytes.size() >= 12 && bytes.starts_with("RIFF") && bytes.substr(8, 4) == "WEBP") {
    return read_webp(bytes, name);
  }
  // The JP2 file's signature box, or a bare codestream's SOC and SIZ markers.
  using namespace std::string_view_literals;
  if (bytes.starts_with("\0\0\0\x0cjP  \r\n\x87\n"sv) || bytes.starts_with("\xff\x4f\xff\x51")) {
    return read_jpeg2000(bytes, name);
  }
  if (bytes.size() >= 3 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6' &&
      is_pnm_space(bytes[2])) {
    return read_pnm(bytes, name);
  }
  fail(ErrorKind::InvalidArgument, name, ": not a PNG, JPEG, PNM, WebP or JPEG 2000 image");
}

}  // namespace onyx
