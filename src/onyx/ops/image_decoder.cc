// ImageDecoder (opset 20): a 1-D uint8 tensor of encoded bytes (PNG, JPEG, PNM, WebP,
// JPEG 2000; core/image_codec.h) to uint8 [H, W, C] pixels in RGB, BGR or Grayscale order,
// with the samples the ONNX reference (PIL) gives.
#include "onyx/core/image_codec.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

enum class PixelFormat { RGB, BGR, Grayscale };

// PIL's RGB -> L (ITU-R 601-2 luma: 0.299 R + 0.587 G + 0.114 B) in its 16-bit fixed
// point, rounded: what the reference's convert("L") gives, which the plain
// R*299/1000 + G*587/1000 + B*114/1000 (truncated) misses by 1 for about half of colours.
uint8_t luma(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

class ImageDecoderKernel final : public Kernel {
 public:
  explicit ImageDecoderKernel(const KernelInfo& info) {
    std::string f = info.node.attr_string("pixel_format", "RGB");
    if (f == "RGB") {
      format_ = PixelFormat::RGB;
    } else if (f == "BGR") {
      format_ = PixelFormat::BGR;
    } else if (f == "Grayscale") {
      format_ = PixelFormat::Grayscale;
    } else {
      info.fail(ErrorKind::InvalidModel, "pixel_format must be RGB, BGR or Grayscale, not '", f,
                "'");
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ImageDecoderKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::UInt8 || x.rank() != 1) {
      ctx.fail(ctx.input_name(0), " must be a 1-D uint8 tensor of encoded bytes, got ",
               dtype_name(x.dtype()), " of shape ", shape_str(x.shape()));
    }
    const int64_t channels = format_ == PixelFormat::Grayscale ? 1 : 3;
    std::string_view bytes(reinterpret_cast<const char*>(x.data<uint8_t>()),
                           static_cast<size_t>(x.numel()));
    Tensor pixels;
    try {
      pixels = decode_image_bytes(bytes, ctx.node().describe() + ": " + ctx.input_name(0));
    } catch (const Error& e) {
      // The spec: a stream that cannot be decoded (corrupt, or of a format or feature not
      // supported) gives an empty image rather than an error. Limits still fail.
      if (e.kind() != ErrorKind::InvalidArgument && e.kind() != ErrorKind::Unsupported) throw;
      ctx.allocate(0, DType::UInt8, {0, 0, channels});
      return;
    }
    const int64_t h = pixels.dim(0), w = pixels.dim(1), have = pixels.dim(2);
    if (have == channels && format_ != PixelFormat::BGR) {  // RGB or grey already
      ctx.set_output(0, std::move(pixels));
      return;
    }
    const uint8_t* in = pixels.data<uint8_t>();
    uint8_t* out = ctx.allocate(0, DType::UInt8, {h, w, channels}).data<uint8_t>();
    for (int64_t i = 0; i < h * w; ++i, in += have, out += channels) {
      if (channels == 1) {
        out[0] = luma(in);
      } else if (have == 1) {  // grey images in colour: the one sample three times
        out[0] = out[1] = out[2] = in[0];
      } else {  // BGR
        out[0] = in[2], out[1] = in[1], out[2] = in[0];
      }
    }
  }

 private:
  PixelFormat format_ = PixelFormat::RGB;
};

constexpr KernelDef kDefs[] = {
    {"", "ImageDecoder", 20, kLatest, &ImageDecoderKernel::make},
};

}  // namespace

void register_image_decoder_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
