// Encoded images decoded from memory to 8-bit pixels: PNG (libpng), JPEG (libjpeg-turbo),
// WebP (libwebp), JPEG 2000 (OpenJPEG) and PNM (netpbm P1-P6, read here), told apart by
// their first bytes. In core because two modules decode images: data (image files of
// datasets) and ops (the ImageDecoder op), and ops may not include data.
#pragma once

#include <string>
#include <string_view>

#include "onyx/core/tensor.h"

namespace onyx {

// Images wider or taller than this are refused (ResourceLimit) before pixels are allocated.
inline constexpr int64_t kMaxImageSide = 16384;

// The pixels of an encoded image as uint8 [H, W, C], the samples PIL gives for the image:
// C 1 for grey images (grey PNG, JPEG and JPEG 2000, PGM, PBM) and 3 for colour ones (R, G,
// B); alpha dropped (not composited); palettes expanded; deeper samples brought to 8 bits.
// Errors start with `name` (a path, or what the caller calls the bytes): InvalidArgument for
// a corrupt stream or one of no known format, Unsupported for a known format's feature not
// handled (CMYK JPEG, animated WebP, YCbCr or subsampled JPEG 2000), ResourceLimit past
// kMaxImageSide.
Tensor decode_image_bytes(std::string_view bytes, const std::string& name);

}  // namespace onyx
