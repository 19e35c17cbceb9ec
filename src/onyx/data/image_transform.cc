// transform_image: decoded pixels to a model's input, as torchvision's ToTensor, Resize
// (on tensors) and Normalize.
#include "onyx/data/image.h"

#include <algorithm>
#include <vector>

#include "onyx/core/error.h"

namespace onyx::data {

namespace {

// The size limit of the decoders, in image.cc, applies to resized images too.
constexpr int64_t kMaxSide = 16384;

// One value per channel from `values`: empty gives `none`, one value applies to all.
std::vector<float> per_channel(const std::vector<float>& values, const char* what, float none,
                               int64_t channels, const std::string& context) {
  auto n = static_cast<size_t>(channels);
  if (values.empty()) return std::vector<float>(n, none);
  if (values.size() == 1) return std::vector<float>(n, values[0]);
  if (values.size() != n) {
    fail(ErrorKind::InvalidArgument, context, ": normalisation ", what, " has ", values.size(),
         " values for ", channels, " channels (give 1 or ", channels, ")");
  }
  return values;
}

// Where output index d samples an axis of `in` pixels resized to `out`: half-pixel centres
// (src = (d + 0.5) * in / out - 0.5, clamped to the edges), as torch's F.interpolate with
// mode='bilinear', align_corners=False. No antialiasing when shrinking (antialias=False):
// each output pixel still reads only its 2x2 nearest inputs.
struct Tap {
  int64_t i0, i1;
  float weight1;  // of i1; i0 gets 1 - weight1
};
std::vector<Tap> taps(int64_t in, int64_t out) {
  std::vector<Tap> v(static_cast<size_t>(out));
  float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t d = 0; d < out; ++d) {
    float src = std::max((static_cast<float>(d) + 0.5f) * scale - 0.5f, 0.0f);
    int64_t i0 = std::min(static_cast<int64_t>(src), in - 1);
    v[d] = {i0, std::min(i0 + 1, in - 1), src - static_cast<float>(i0)};
  }
  return v;
}

}  // namespace

Tensor transform_image(const Tensor& pixels, const ImageTransform& transform,
                       const std::string& context) {
  if (pixels.dtype() != DType::UInt8 || pixels.rank() != 3 || pixels.numel() == 0 ||
      (pixels.dim(2) != 1 && pixels.dim(2) != 3)) {
    fail(ErrorKind::InvalidArgument, context, ": expected uint8 pixels [H, W, 1 or 3], got ",
         dtype_name(pixels.dtype()), shape_str(pixels.shape()));
  }
  const int64_t c_out = transform.channels, c_in = pixels.dim(2);
  if (c_out != 1 && c_out != 3) {
    fail(ErrorKind::InvalidArgument, context, ": images become 1 or 3 channels, not ", c_out);
  }
  if (transform.height < 0 || transform.width < 0) {
    fail(ErrorKind::InvalidArgument, context, ": resize to ", transform.width, "x",
         transform.height, " (0 keeps the image's size)");
  }
  const int64_t ih = pixels.dim(0), iw = pixels.dim(1), n = ih * iw;
  const int64_t oh = transform.height ? transform.height : ih;
  const int64_t ow = transform.width ? transform.width : iw;
  if (oh > kMaxSide || ow > kMaxSide) {
    fail(ErrorKind::ResourceLimit, context, ": resize to ", ow, "x", oh, " is over the limit of ",
         kMaxSide, " pixels a side");
  }
  std::vector<float> means = per_channel(transform.mean, "mean", 0.0f, c_out, context);
  std::vector<float> stds = per_channel(transform.std, "std", 1.0f, c_out, context);
  for (float s : stds) {
    if (s == 0.0f) fail(ErrorKind::InvalidArgument, context, ": normalisation std of 0");
  }
  // Channels first, at the input size: grey repeated to RGB, RGB to the mean of R, G, B.
  std::vector<float> planes(static_cast<size_t>(c_out * n));
  const uint8_t* px = pixels.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = px + i * c_in;
    if (c_in == c_out) {
      for (int64_t c = 0; c < c_out; ++c) planes[c * n + i] = p[c];
    } else if (c_out == 1) {
      planes[i] = (static_cast<float>(p[0]) + p[1] + p[2]) / 3.0f;
    } else {
      for (int64_t c = 0; c < 3; ++c) planes[c * n + i] = p[0];
    }
  }
  std::vector<Tap> ys = taps(ih, oh), xs = taps(iw, ow);
  Tensor out = Tensor::empty(DType::Float32, {c_out, oh, ow});
  float* o = out.data<float>();
  for (int64_t c = 0; c < c_out; ++c) {
    const float* p = planes.data() + c * n;
    for (const Tap& y : ys) {
      const float *r0 = p + y.i0 * iw, *r1 = p + y.i1 * iw;
      for (const Tap& x : xs) {
        float top = r0[x.i0] * (1 - x.weight1) + r0[x.i1] * x.weight1;
        float bottom = r1[x.i0] * (1 - x.weight1) + r1[x.i1] * x.weight1;
        float v = (top * (1 - y.weight1) + bottom * y.weight1) / 255.0f;
        *o++ = (v - means[c]) / stds[c];
      }
    }
  }
  return out;
}

}  // namespace onyx::data
