// The per-format decoders behind decode_image_bytes (image_codec.h), one file per library:
// image_codec.cc (PNM), image_codec_png_jpeg.cc, image_codec_webp_jp2.cc. Each returns
// uint8 [H, W, 1 or 3] and reports errors as decode_image_bytes documents.
#pragma once

#include <string>
#include <string_view>

#include "onyx/core/tensor.h"

namespace onyx::image_codec {

// Fails with ResourceLimit when a side is over kMaxImageSide (or not positive: InvalidArgument).
void check_size(const std::string& name, int64_t width, int64_t height);

Tensor read_png(std::string_view bytes, const std::string& name);
Tensor read_jpeg(std::string_view bytes, const std::string& name);
Tensor read_pnm(std::string_view bytes, const std::string& name);
Tensor read_webp(std::string_view bytes, const std::string& name);
Tensor read_jpeg2000(std::string_view bytes, const std::string& name);

}  // namespace onyx::image_codec
