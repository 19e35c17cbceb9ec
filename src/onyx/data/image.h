// Single images for prediction: PGM (P2, P5) and PNG (8-bit grey, grey+alpha, RGB, RGBA;
// non-interlaced), read as grey [H, W] floats in [0, 1] (colour averaged).
#pragma once

#include <string>

#include "onyx/core/tensor.h"

namespace onyx::data {

Tensor read_image(const std::string& path);

}  // namespace onyx::data
