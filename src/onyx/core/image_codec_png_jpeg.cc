// PNG through libpng and JPEG through libjpeg-turbo, from memory (moved here from
// data/image.cc, which now reads the file and calls decode_image_bytes).
#include <png.h>

// jpeglib.h needs size_t and FILE declared before it.
#include <cstddef>
#include <cstdio>

#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <cstring>
#include <vector>

#include "onyx/core/error.h"
#include "onyx/core/image_codec_formats.h"

namespace onyx::image_codec {

namespace {

// libpng and libjpeg report errors by longjmp to the jmp_buf set by whoever called them.
// A longjmp skips C++ destructors, so the functions that call setjmp (png_header,
// png_pixels, jpeg_header, jpeg_pixels) own nothing with one: their callers own the
// libraries' structs (destroyed by a guard) and the pixel memory, and turn a false
// return into an onyx error carrying the library's message.
struct PngState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const char* data = nullptr;
  size_t size = 0, at = 0;
  char message[256] = "";
};

void png_on_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof s->message, "%s", msg);
  png_longjmp(png, 1);
}
void png_on_warning(png_structp, png_const_charp) {}  // e.g. odd ancillary chunks: harmless

void png_on_read(png_structp png, png_bytep out, size_t n) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (s->size - s->at < n) png_error(png, "truncated file");
  std::memcpy(out, s->data + s->at, n);
  s->at += n;
}

bool png_header(PngState* s) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_read_info(s->png, s->info);
  // The stored sample values, as PIL reads them: no gamma correction; palettes and 1, 2,
  // 4-bit grey expanded to 8 bits; 16-bit samples keep their high byte; alpha (and tRNS)
  // dropped, not composited over a background.
  png_set_expand(s->png);
  png_set_strip_16(s->png);
  png_set_strip_alpha(s->png);
  png_set_interlace_handling(s->png);
  png_read_update_info(s->png, s->info);
  return true;
}

bool png_pixels(PngState* s, png_bytepp rows) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  // Chunks after the pixels (text, time) are of no use here, so png_read_end is not called.
  png_read_image(s->png, rows);
  return true;
}

struct JpegState {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_on_error(j_common_ptr c) {
  auto* s = static_cast<JpegState*>(c->client_data);
  c->err->format_message(c, s->message);
  std::longjmp(s->jump, 1);
}

// Warnings are ignored (libjpeg's default prints them), but for a file that ends early:
// libjpeg would fill the missing rows with grey and carry on, PIL refuses such files.
void jpeg_on_message(j_common_ptr c, int level) {
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) jpeg_on_error(c);
  if (level < 0) ++c->err->num_warnings;
}

bool jpeg_header(JpegState* s, const unsigned char* data, size_t size) {
  if (setjmp(s->jump)) return false;
  jpeg_create_decompress(&s->cinfo);
  jpeg_mem_src(&s->cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&s->cinfo, TRUE);
  return true;
}

bool jpeg_pixels(JpegState* s, uint8_t* out, JDIMENSION width, int channels) {
  if (setjmp(s->jump)) return false;
  jpeg_decompress_struct* c = &s->cinfo;
  jpeg_start_decompress(c);  // output: image_width x channels (scale 1/1, grey or RGB)
  while (c->output_scanline < c->output_height) {
    JSAMPROW row = out + size_t{c->output_scanline} * width * channels;
    jpeg_read_scanlines(c, &row, 1);
  }
  jpeg_finish_decompress(c);
  return true;
}

}  // namespace

Tensor read_png(std::string_view bytes, const std::string& name) {
  PngState s;
  s.data = bytes.data(), s.size = bytes.size();
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_on_error, png_on_warning);
  if (!s.png) fail(ErrorKind::ResourceLimit, name, ": out of memory starting libpng");
  struct Guard {
    PngState& s;
    ~Guard() { png_destroy_read_struct(&s.png, s.info ? &s.info : nullptr, nullptr); }
  } guard{s};
  s.info = png_create_info_struct(s.png);
  if (!s.info) fail(ErrorKind::ResourceLimit, name, ": out of memory starting libpng");
  png_set_read_fn(s.png, &s, png_on_read);
  if (!png_header(&s)) fail(ErrorKind::InvalidArgument, name, ": corrupt PNG: ", s.message);
  int64_t w = png_get_image_width(s.png, s.info), h = png_get_image_height(s.png, s.info);
  int64_t channels = png_get_channels(s.png, s.info);
  check_size(name, w, h);
  if ((channels != 1 && channels != 3) || png_get_bit_depth(s.png, s.info) != 8 ||
      png_get_rowbytes(s.png, s.info) != static_cast<size_t>(w * channels)) {
    fail(ErrorKind::Internal, name, ": libpng did not convert the PNG to 8-bit grey or RGB");
  }
  Tensor t = Tensor::empty(DType::UInt8, {h, w, channels});
  std::vector<png_bytep> rows(static_cast<size_t>(h));
  for (int64_t y = 0; y < h; ++y) rows[y] = t.data<uint8_t>() + y * w * channels;
  if (!png_pixels(&s, rows.data())) {
    fail(ErrorKind::InvalidArgument, name, ": corrupt PNG: ", s.message);
  }
  return t;
}

Tensor read_jpeg(std::string_view bytes, const std::string& name) {
  JpegState s{};
  s.cinfo.err = jpeg_std_error(&s.err);
  s.err.error_exit = jpeg_on_error;
  s.err.emit_message = jpeg_on_message;
  s.cinfo.client_data = &s;  // jpeg_create_decompress keeps err and client_data
  struct Guard {
    jpeg_decompress_struct& c;
    ~Guard() { jpeg_destroy_decompress(&c); }  // a no-op when creation failed
  } guard{s.cinfo};
  if (!jpeg_header(&s, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size())) {
    fail(ErrorKind::InvalidArgument, name, ": corrupt JPEG: ", s.message);
  }
  check_size(name, s.cinfo.image_width, s.cinfo.image_height);
  J_COLOR_SPACE space = s.cinfo.jpeg_color_space;
  if (space == JCS_CMYK || space == JCS_YCCK) {
    fail(ErrorKind::Unsupported, name, ": CMYK JPEGs are not supported (convert to RGB)");
  }
  int channels = space == JCS_GRAYSCALE ? 1 : 3;
  s.cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  Tensor t = Tensor::empty(DType::UInt8, {s.cinfo.image_height, s.cinfo.image_width, channels});
  if (!jpeg_pixels(&s, t.data<uint8_t>(), s.cinfo.image_width, channels)) {
    fail(ErrorKind::InvalidArgument, name, ": corrupt JPEG: ", s.message);
  }
  return t;
}

}  // namespace onyx::image_codec
