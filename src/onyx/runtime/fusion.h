// Graph rewrites the runtime applies to its own copy of a model before planning. The
// user's model is never changed; the rewritten graph computes the same values.
#pragma once

#include <memory>

#include "onyx/ir/graph.h"
#include "onyx/runtime/passes.h"

namespace onyx::runtime {

// Folds an activation (Relu, LeakyRelu, Clip with constant bounds) that is the only reader
// of a Conv output into the Conv node, as internal attributes that the Conv kernel applies
// while its output is still in cache. Returns `graph` itself when nothing changes.
std::shared_ptr<const ir::Graph> fuse_activations(std::shared_ptr<const ir::Graph> graph,
                                                  const ir::Model& model);

// Mul(x, Sigmoid(x)) (SiLU as exporters write it), where the Sigmoid has no other reader,
// becomes the runtime's Swish: one pass over memory instead of two, and no Sigmoid output.
// Returns `graph` itself when nothing changes.
std::shared_ptr<const ir::Graph> fuse_swish(std::shared_ptr<const ir::Graph> graph);

// 0.5 * x * (1 + Erf(x / sqrt(2))) becomes one Gelu: the standard op from opset 20, the
// runtime's below it (at the Runtime level only).
std::shared_ptr<const ir::Graph> fuse_gelu(std::shared_ptr<const ir::Graph> graph,
                                           PassContext& ctx);

// LayerNormalization over the last axis written out as ReduceMean, Sub, Pow, ReduceMean, Add,
// Sqrt, Div, Mul (and Add), with a constant 1-D scale (and bias), becomes one
// LayerNormalization: the standard op from opset 17, the runtime's below it.
std::shared_ptr<const ir::Graph> fuse_layer_norm(std::shared_ptr<const ir::Graph> graph,
                                                 PassContext& ctx);

// MatMul(A, B) with B a constant float32 matrix, followed by an Add of a constant bias [N]
// and/or a Relu or Gelu that are each the only reader of the value before them, becomes the
// runtime's MatMulBias: one GEMM over every row of A whose blocks get the bias and the
// activation while they are in cache. So does a Gemm with constant B (transposed or not),
// constant C [N], alpha and beta 1, followed by such an activation.
std::shared_ptr<const ir::Graph> fuse_matmul_bias(std::shared_ptr<const ir::Graph> graph);

// The weight gradient of a convolution as autodiff writes it in standard ops (X and dY
// transposed so that batch and channels trade places, a Conv, a Slice to the kernel's size
// and a Transpose back; autodiff/rules_conv.cc) becomes the runtime's ConvWeightGrad,
// which reads X and dY as they are. Each intermediate value must have no other reader.
std::shared_ptr<const ir::Graph> fuse_conv_weight_grad(std::shared_ptr<const ir::Graph> graph);

// The ReLU gradient of a flat scatter into zeros, as autodiff writes the gradient of
// MaxPool followed by the Relu before it: Where(Greater(y, 0), Reshape(ScatterElements(
// zeros like y, I, U), shape of y), 0) becomes the runtime's ScatterReluGrad(y, I, U),
// which zeroes its output and scatters only where y > 0, in one pass instead of four over
// y's size (the fill, the scatter, the mask and the select).
std::shared_ptr<const ir::Graph> fuse_scatter_relu_grad(std::shared_ptr<const ir::Graph> graph,
                                                        PassContext& ctx);

}  // namespace onyx::runtime
