// Opset conversion of the default domain: ONNX's own version converter (libonnx 1.12) up to
// opset 17, onyx's steps (opset_steps.h) from 17 to 23.
#pragma once

#include <cstdint>

#include "onyx/ir/graph.h"

namespace onyx::onnx_io {

// The model with its default-domain opset moved to `target` (up or down, 1 to 23); throws
// Unsupported with the reason (the converter's, or the node that cannot be converted).
ir::Model convert_opset(const ir::Model& model, int64_t target);

}  // namespace onyx::onnx_io
