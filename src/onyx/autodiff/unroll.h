// Ops differentiated by rewriting them first: recurrent layers (RNN, GRU, LSTM) as their
// time steps in primitive ops (MatMul, Add, activations, Mul), Loop and Scan as one copy of
// their body per iteration (backpropagation through time, as ONNX nodes), GridSample and
// RoiAlign as coordinate arithmetic and gathers, Attention and FlexAttention as MatMul and
// Softmax (FlexAttention's score_mod and prob_mod inlined), LinearAttention as its recurrence
// unrolled over the tokens, DeformConv as bilinear taps (gathers) and a MatMul. The
// primitives' gradient rules then differentiate them.
#pragma once

#include "onyx/autodiff/grad_context.h"
#include "onyx/ir/builder.h"
#include "onyx/ir/graph.h"

namespace onyx::autodiff {

// Replaces every RNN, GRU and LSTM node of the main graph, in place and in order, by the
// equivalent unrolled nodes writing the same output names. The sequence length must be
// known statically. Returns how many nodes were replaced. Nodes in forms it does not handle
// (clip, activation_alpha/beta, input_forget, sequence_lens that differ from the sequence
// length) stay; unroll_problem says why.
size_t unroll_recurrent(ir::Model& model);

// Replaces every Loop and Scan node of the main graph (and those their bodies hold) by copies
// of the body, one per iteration, writing the same output names. A Loop must run a constant
// number of times (constant M; a condition that is constant true or passed through); a
// Scan's length must be known statically. Other loops stay; unroll_problem says why.
size_t unroll_loops(ir::Model& model);

// Replaces the reads of sequences whose elements are known statically (SequenceAt,
// SequenceLength, ConcatFromSequence) by tensor ops, and drops the sequence ops left
// unread: see fold_sequences.cc. Returns how many reads were replaced.
size_t fold_sequences(ir::Model& model);

// Replaces every node that has neither a kernel, a gradient rule nor a rewrite, and whose
// schema has a function body (MeanVarianceNormalization, ...), by that body, so that a function op
// never lacks a gradient. Returns 1 when anything was expanded.
size_t expand_unruled_functions(ir::Model& model);

// All of the rewrites: function bodies first, then loops (a loop body may hold the others), then
// sequences, then FlexAttention (the heads and head sizes known statically; its subgraphs, inlined,
// may hold the others), recurrent layers, GridSample and RoiAlign (4-D; H and W known statically),
// Attention, LinearAttention (the sequence length and head sizes known statically),
// DeformConv (shapes known statically but the batch). Returns how many nodes were replaced;
// nodes that cannot be rewritten stay.
size_t rewrite_for_gradients(ir::Model& model);

// Whether `n` is an op that rewrite_for_gradients rewrites.
bool rewritten_op(const ir::Node& n);

// Why rewrite_for_gradients leaves node `n` of `model` as it is ("" when it does not).
std::string rewrite_problem(const ir::Model& model, const ir::Node& n);

// The rewriters: each appends the nodes replacing `n` to b's graph, or throws Unsupported
// naming `n`.
using Emit = void (*)(ir::GraphBuilder& b, const ir::Node& n, const Types& types, int64_t opset);
void emit_unrolled_loop(ir::GraphBuilder& b, const ir::Node& n, const Types& types, int64_t opset);
void emit_lowered_grid_sample(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                              int64_t opset);
void emit_lowered_roi_align(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                            int64_t opset);
void emit_lowered_attention(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                            int64_t opset);
void emit_lowered_linear_attention(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                                   int64_t opset);
void emit_lowered_flex_attention(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                                 int64_t opset);
void emit_lowered_deform_conv(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                              int64_t opset);

}  // namespace onyx::autodiff
