#include "onyx/data/image.h"

#include <zlib.h>

#include <cstdlib>
#include <sstream>

#include "onyx/core/error.h"
#include "onyx/core/file_util.h"
#include "onyx/data/bytes.h"

namespace onyx::data {

namespace {

constexpr size_t kMaxImageBytes = size_t{64} << 20;

Tensor read_pgm(const std::string& path, const std::string& bytes) {
  std::istringstream in(bytes);
  std::string magic;
  in >> magic;
  auto next_int = [&]() {
    in >> std::ws;
    while (in.peek() == '#') {  // comments
      std::string line;
      std::getline(in, line);
      in >> std::ws;
    }
    int64_t v = -1;
    in >> v;
    return v;
  };
  int64_t w = next_int(), h = next_int(), max = next_int();
  if (w < 1 || h < 1 || w > 16384 || h > 16384 || max < 1 || max > 255) {
    fail(ErrorKind::InvalidArgument, path, ": unsupported PGM header (8-bit grey only)");
  }
  Tensor t = Tensor::empty(DType::Float32, {h, w});
  if (magic == "P5") {
    in.get();  // the single whitespace before the data
    std::string px(static_cast<size_t>(w * h), '\0');
    if (!in.read(px.data(), static_cast<std::streamsize>(px.size()))) {
      fail(ErrorKind::InvalidArgument, path, ": truncated PGM data");
    }
    for (int64_t i = 0; i < w * h; ++i) t.data<float>()[i] = uint8_t(px[i]) / float(max);
  } else {
    for (int64_t i = 0; i < w * h; ++i) {
      int64_t v = next_int();
      if (v < 0) fail(ErrorKind::InvalidArgument, path, ": truncated PGM data");
      t.data<float>()[i] = static_cast<float>(v) / static_cast<float>(max);
    }
  }
  return t;
}

int paeth(int a, int b, int c) {
  int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

Tensor read_png(const std::string& path, const std::string& bytes) {
  auto bad = [&](const std::string& why) { fail(ErrorKind::InvalidArgument, path, ": ", why); };
  uint32_t width = 0, height = 0;
  int channels = 0;
  std::string idat;
  for (size_t at = 8;;) {  // chunks: length, type, data, CRC
    if (at + 12 > bytes.size()) bad("truncated PNG");
    uint32_t len = be32(bytes, at);
    std::string type = bytes.substr(at + 4, 4);
    if (len > bytes.size() - at - 12) bad("truncated PNG chunk " + type);
    const std::string data = bytes.substr(at + 8, len);
    if (crc32(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(bytes.data() + at + 4),
              len + 4) != be32(bytes, at + 8 + len)) {
      bad("PNG chunk " + type + " fails its CRC");
    }
    if (type == "IHDR") {
      if (len != 13) bad("bad IHDR");
      width = be32(data, 0), height = be32(data, 4);
      int depth = uint8_t(data[8]), colour = uint8_t(data[9]), interlace = uint8_t(data[12]);
      channels = colour == 0 ? 1 : colour == 4 ? 2 : colour == 2 ? 3 : colour == 6 ? 4 : 0;
      if (depth != 8 || channels == 0 || interlace != 0) {
        bad("only 8-bit, non-interlaced grey, grey+alpha, RGB or RGBA PNGs are supported");
      }
      if (width < 1 || height < 1 || width > 16384 || height > 16384) bad("bad PNG size");
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      break;
    }
    at += 12 + len;
  }
  if (!channels) bad("no IHDR chunk");
  size_t stride = static_cast<size_t>(width) * channels, want = (stride + 1) * height;
  std::string raw(want, '\0');
  uLongf got = static_cast<uLongf>(want);
  if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &got,
                 reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      got != want) {
    bad("corrupt PNG image data");
  }
  // Undo the per-row filters (the spec's five), in place.
  std::vector<uint8_t> prev(stride, 0), row(stride);
  Tensor t = Tensor::empty(DType::Float32, {height, width});
  for (uint32_t y = 0; y < height; ++y) {
    const auto* in = reinterpret_cast<const uint8_t*>(raw.data() + y * (stride + 1));
    int filter = in[0];
    for (size_t i = 0; i < stride; ++i) {
      int a = i >= size_t(channels) ? row[i - channels] : 0, b = prev[i],
          c = i >= size_t(channels) ? prev[i - channels] : 0;
      int x = in[1 + i];
      switch (filter) {
        case 0:
          break;
        case 1:
          x += a;
          break;
        case 2:
          x += b;
          break;
        case 3:
          x += (a + b) / 2;
          break;
        case 4:
          x += paeth(a, b, c);
          break;
        default:
          bad("unknown PNG filter " + std::to_string(filter));
      }
      row[i] = static_cast<uint8_t>(x);
    }
    for (uint32_t xp = 0; xp < width; ++xp) {
      const uint8_t* px = row.data() + xp * channels;
      // Grey from colour: the mean of R, G, B; alpha ignored.
      float v = channels >= 3 ? (px[0] + px[1] + px[2]) / 3.0f : px[0];
      t.data<float>()[y * width + xp] = v / 255.0f;
    }
    prev = row;
  }
  return t;
}

}  // namespace

Tensor read_image(const std::string& path) {
  std::string bytes = read_file(path, kMaxImageBytes);
  if (bytes.rfind("\x89PNG\r\n\x1a\n", 0) == 0) return read_png(path, bytes);
  if (bytes.rfind("P5", 0) == 0 || bytes.rfind("P2", 0) == 0) return read_pgm(path, bytes);
  fail(ErrorKind::InvalidArgument, path, ": not a PNG or PGM image");
}

}  // namespace onyx::data
