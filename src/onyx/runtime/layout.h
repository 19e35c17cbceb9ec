// The layout pass: float32 values stay in the channel-blocked layout of ops/conv_dnnl.h
// from one convolution to the next, instead of being reordered to NCHW and back at every
// Conv (at batch 1 those reorders cost MobileNetV2's depthwise layers more than the
// convolutions themselves: docs/DECISIONS.md).
#pragma once

#include <memory>

#include "onyx/ir/graph.h"

namespace onyx::runtime {

// Each Conv whose weights are a float32 initializer becomes the runtime's blocked Conv
// (ops::kRuntimeDomain), writing Y blocked. Elementwise ops whose inputs are all blocked
// with the same channel count (activations, Add, Sub, Mul, Max, Min: ops that keep the
// zero padding channels finite) run on the blocked tensors as they are, and so do the
// Convs reading them, Concat over channels (when every input but the last fills its
// blocks), the pools (the runtime's MaxPool without Indices, AveragePool and the global
// ones) and inference-mode BatchNormalization (ops/blocked.cc). Every other reader (and a graph output) reads the value in its own
// layout, through one FromBlocked node. Returns `graph` itself when nothing changes.
std::shared_ptr<const ir::Graph> block_conv_layouts(std::shared_ptr<const ir::Graph> graph);

}  // namespace onyx::runtime
