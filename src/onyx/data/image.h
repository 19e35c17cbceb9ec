// Images as tensors: image files decoded to 8-bit pixels (core/image_codec.h: PNG, JPEG,
// PNM, WebP, JPEG 2000), then resized and normalised the way torchvision's Resize, ToTensor
// and Normalize prepare them for a model.
#pragma once

#include <string>
#include <vector>

#include "onyx/core/tensor.h"

namespace onyx::data {

// The pixels of an image file (PNG, JPEG, PNM, WebP or JPEG 2000, by content not
// extension), as decode_image_bytes gives them: uint8 [H, W, C] with C 1 (grey) or 3 (RGB).
// Errors name the file.
Tensor decode_image(const std::string& path);

// How decoded pixels become a model's input.
struct ImageTransform {
  int64_t channels = 3;                    // 1: grey (the mean of R, G, B); 3: RGB (grey repeated)
  int64_t height = 0, width = 0;           // 0: keep the image's own size
  std::vector<float> mean = {}, std = {};  // empty: none; else one value, or one per channel
};

// uint8 [H, W, C] pixels -> float32 [channels, height, width]: resized (bilinear, pixel
// centres aligned as align_corners=False), scaled to [0, 1], then (x - mean) / std.
Tensor transform_image(const Tensor& pixels, const ImageTransform& transform,
                       const std::string& context);

// decode_image then transform_image.
Tensor read_image(const std::string& path, const ImageTransform& transform);

}  // namespace onyx::data
