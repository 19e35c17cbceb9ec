// Opset conversion with ONNX's own version converter (libonnx).
#pragma once

#include <cstdint>

#include "onyx/ir/graph.h"

namespace onyx::onnx_io {

// The model with its default-domain opset moved to `target` (up or down) by
// onnx::version_conversion; throws Unsupported with the converter's reason when it cannot.
ir::Model convert_opset(const ir::Model& model, int64_t target);

}  // namespace onyx::onnx_io
