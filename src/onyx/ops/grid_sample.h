// GridSample's mode under its opset-16 name, for the kernel and for the lowering autodiff
// differentiates: opset 20 renamed bilinear and bicubic to linear and cubic (the same
// interpolation, N-linear and N-cubic over any number of spatial dimensions).
#pragma once

#include <string>

#include "onyx/ir/node.h"

namespace onyx::ops {

inline std::string grid_sample_mode(const ir::Node& n) {
  std::string mode = n.attr_string("mode", "bilinear");
  if (mode == "linear") return "bilinear";
  if (mode == "cubic") return "bicubic";
  return mode;
}

}  // namespace onyx::ops
