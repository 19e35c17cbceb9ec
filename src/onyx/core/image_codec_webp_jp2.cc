// WebP through libwebp and JPEG 2000 (JP2 files and bare J2K codestreams) through OpenJPEG,
// from memory. Neither library jumps out on errors: plain guards free their objects.
#include <openjpeg.h>
#include <webp/decode.h>

#include <algorithm>
#include <cstring>

#include "onyx/core/error.h"
#include "onyx/core/image_codec_formats.h"

namespace onyx::image_codec {

namespace {

const char* webp_status(VP8StatusCode status) {
  switch (status) {
    case VP8_STATUS_OUT_OF_MEMORY:
      return "out of memory";
    case VP8_STATUS_INVALID_PARAM:
      return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR:
      return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
      return "unsupported feature";
    case VP8_STATUS_NOT_ENOUGH_DATA:
      return "truncated data";
    default:
      return "decoding failed";
  }
}

// OpenJPEG reads through callbacks; this is the encoded bytes and a position in them.
struct Jp2Source {
  const uint8_t* data;
  size_t size, at;
};

OPJ_SIZE_T jp2_read(void* out, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<Jp2Source*>(user);
  if (s->at >= s->size) return static_cast<OPJ_SIZE_T>(-1);  // the end, as OpenJPEG wants it
  n = std::min<OPJ_SIZE_T>(n, s->size - s->at);
  std::memcpy(out, s->data + s->at, n);
  s->at += n;
  return n;
}

// Skips forward or back, stopping at either end; -1 (an error) when it had to stop.
OPJ_OFF_T jp2_skip(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<Jp2Source*>(user);
  OPJ_OFF_T to = static_cast<OPJ_OFF_T>(s->at) + n;
  OPJ_OFF_T clamped = std::clamp<OPJ_OFF_T>(to, 0, static_cast<OPJ_OFF_T>(s->size));
  s->at = static_cast<size_t>(clamped);
  return clamped == to ? n : -1;
}

OPJ_BOOL jp2_seek(OPJ_OFF_T to, void* user) {
  auto* s = static_cast<Jp2Source*>(user);
  if (to < 0 || static_cast<uint64_t>(to) > s->size) return OPJ_FALSE;
  s->at = static_cast<size_t>(to);
  return OPJ_TRUE;
}

// OpenJPEG's messages end in a newline; the last error is kept for the onyx error.
void jp2_on_error(const char* msg, void* user) {
  auto* message = static_cast<std::string*>(user);
  *message = msg;
  while (!message->empty() && (message->back() == '\n' || message->back() == '\r')) {
    message->pop_back();
  }
}
void jp2_on_message(const char*, void*) {}  // warnings and progress: of no use here

// A sample brought to 8 bits as PIL does: signed samples offset to unsigned, then shifted
// (not scaled) from the component's precision.
uint8_t jp2_sample(OPJ_INT32 v, const opj_image_comp_t& c) {
  int64_t u = int64_t{v} + (c.sgnd ? int64_t{1} << (c.prec - 1) : 0);
  int shift = 8 - static_cast<int>(c.prec);
  u = shift >= 0 ? u * (int64_t{1} << shift) : u >> -shift;
  return static_cast<uint8_t>(std::clamp<int64_t>(u, 0, 255));
}

}  // namespace

Tensor read_webp(std::string_view bytes, const std::string& name) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) {
    fail(ErrorKind::Internal, name, ": libwebp's headers and library differ in version");
  }
  VP8StatusCode status = WebPGetFeatures(data, bytes.size(), &config.input);
  if (status != VP8_STATUS_OK) {
    fail(ErrorKind::InvalidArgument, name, ": corrupt WebP: ", webp_status(status));
  }
  if (config.input.has_animation) {
    fail(ErrorKind::Unsupported, name, ": animated WebP images are not supported");
  }
  const int64_t w = config.input.width, h = config.input.height;
  check_size(name, w, h);
  // Straight into the tensor; with alpha present, MODE_RGB leaves it out (not premultiplied).
  Tensor t = Tensor::empty(DType::UInt8, {h, w, 3});
  config.output.colorspace = MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = t.data<uint8_t>();
  config.output.u.RGBA.stride = static_cast<int>(w * 3);
  config.output.u.RGBA.size = static_cast<size_t>(t.numel());
  status = WebPDecode(data, bytes.size(), &config);
  WebPFreeDecBuffer(&config.output);  // frees nothing of external memory, but is the protocol
  if (status != VP8_STATUS_OK) {
    fail(ErrorKind::InvalidArgument, name, ": corrupt WebP: ", webp_status(status));
  }
  return t;
}

Tensor read_jpeg2000(std::string_view bytes, const std::string& name) {
  Jp2Source source{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 0};
  const bool codestream = bytes.starts_with("\xff\x4f\xff\x51");
  struct Guard {
    opj_stream_t* stream = nullptr;
    opj_codec_t* codec = nullptr;
    opj_image_t* image = nullptr;
    ~Guard() {
      if (image) opj_image_destroy(image);
      if (codec) opj_destroy_codec(codec);
      if (stream) opj_stream_destroy(stream);
    }
  } g;
  g.stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
  g.codec = opj_create_decompress(codestream ? OPJ_CODEC_J2K : OPJ_CODEC_JP2);
  if (!g.stream || !g.codec) {
    fail(ErrorKind::ResourceLimit, name, ": out of memory starting OpenJPEG");
  }
  opj_stream_set_user_data(g.stream, &source, nullptr);
  opj_stream_set_user_data_length(g.stream, bytes.size());
  opj_stream_set_read_function(g.stream, jp2_read);
  opj_stream_set_skip_function(g.stream, jp2_skip);
  opj_stream_set_seek_function(g.stream, jp2_seek);
  std::string message = "unreadable stream";
  opj_set_error_handler(g.codec, jp2_on_error, &message);
  opj_set_warning_handler(g.codec, jp2_on_message, nullptr);
  opj_set_info_handler(g.codec, jp2_on_message, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(g.codec, &params) || !opj_read_header(g.stream, g.codec, &g.image)) {
    fail(ErrorKind::InvalidArgument, name, ": corrupt JPEG 2000: ", message);
  }
  // The size is known from the header: refuse big images before OpenJPEG allocates them.
  check_size(name, int64_t{g.image->x1} - g.image->x0, int64_t{g.image->y1} - g.image->y0);
  const OPJ_COLOR_SPACE space = g.image->color_space;
  if (space == OPJ_CLRSPC_SYCC || space == OPJ_CLRSPC_EYCC || space == OPJ_CLRSPC_CMYK) {
    fail(ErrorKind::Unsupported, name, ": JPEG 2000 images in YCbCr or CMYK are not supported");
  }
  if (!opj_decode(g.codec, g.stream, g.image) || !opj_end_decompress(g.codec, g.stream)) {
    fail(ErrorKind::InvalidArgument, name, ": corrupt JPEG 2000: ", message);
  }
  // 1 grey, 2 grey and alpha, 3 RGB, 4 RGB and alpha: alpha dropped.
  const opj_image_t& image = *g.image;
  if (image.numcomps < 1 || image.numcomps > 4) {
    fail(ErrorKind::Unsupported, name, ": JPEG 2000 image of ", image.numcomps,
         " components (1 to 4 are supported)");
  }
  const int64_t channels = image.numcomps < 3 ? 1 : 3;
  const opj_image_comp_t* comps = image.comps;
  const int64_t w = comps[0].w, h = comps[0].h;
  check_size(name, w, h);
  for (int64_t c = 0; c < channels; ++c) {
    if (comps[c].w != comps[0].w || comps[c].h != comps[0].h || !comps[c].data) {
      fail(ErrorKind::Unsupported, name,
           ": JPEG 2000 components of different sizes (subsampled) are not supported");
    }
    if (comps[c].prec < 1 || comps[c].prec > 31) {
      fail(ErrorKind::Unsupported, name, ": JPEG 2000 samples of ", comps[c].prec, " bits");
    }
  }
  Tensor t = Tensor::empty(DType::UInt8, {h, w, channels});
  uint8_t* out = t.data<uint8_t>();
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < w * h; ++i) {
      out[i * channels + c] = jp2_sample(comps[c].data[i], comps[c]);
    }
  }
  return t;
}

}  // namespace onyx::image_codec
