// Opset conversion of the default domain between 17 and 23, which libonnx 1.12's version
// converter does not know (convert_opset, version_convert.h, is the entry point).
#pragma once

#include <cstdint>

#include "onyx/ir/graph.h"

namespace onyx::onnx_io {

constexpr int64_t kFirstOwnStep = 17;
constexpr int64_t kLastOwnStep = 23;

// Moves `model` (in place: its graphs must not be shared) from opset `from` to `to`, both in
// [kFirstOwnStep, kLastOwnStep], rewriting the ops whose form changed; throws Unsupported
// naming the node when a step cannot be made (an op newer than `to`, an input that must
// be constant). Sets the opset import and an IR version that carries the opset.
void step_opset(ir::Model& model, int64_t from, int64_t to);

// The IR version released with `opset` (IR.md's table).
int64_t ir_version_for_opset(int64_t opset);

}  // namespace onyx::onnx_io
