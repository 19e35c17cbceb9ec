// Recurrent layers (RNN, GRU, LSTM) rewritten as their time steps in primitive ops
// (MatMul, Add, activations, Mul), so that the primitives' gradient rules differentiate
// them: backpropagation through time, as ONNX nodes.
#pragma once

#include "onyx/ir/graph.h"

namespace onyx::autodiff {

// Replaces every RNN, GRU and LSTM node of the main graph, in place and in order, by the
// equivalent unrolled nodes writing the same output names. The sequence length must be
// known statically. Returns how many nodes were replaced. Throws Unsupported naming the
// node for forms it does not handle (clip, activation_alpha/beta, input_forget,
// sequence_lens that differ from the sequence length).
size_t unroll_recurrent(ir::Model& model);

}  // namespace onyx::autodiff
