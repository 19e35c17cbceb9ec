// Function transformations for the lazy array API, in the style of JAX and
// onnxruntime-numpy: grad, value_and_grad and jit trace a function of arrays into an ONNX
// graph (once per input signature: element types and shapes) and run that graph on each
// call.
//
//   auto loss = [&](const std::vector<np::Array>& p) { return ((x.matmul(p[0]) - y)
//                                                             .pow(2.0f)).mean(); };
//   auto dloss = np::grad(loss);
//   std::vector<np::Array> g = dloss({w});   // d loss / d w
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "onyx/np/array.h"

namespace onyx::np {

using Function = std::function<Array(const std::vector<Array>&)>;
using GradFunction = std::function<std::vector<Array>(const std::vector<Array>&)>;
using ValueAndGradFunction =
    std::function<std::pair<Array, std::vector<Array>>(const std::vector<Array>&)>;

// The gradient of a function returning one value (any shape with one element) with
// respect to each argument.
GradFunction grad(Function f);
// The value and the gradient, from one run.
ValueAndGradFunction value_and_grad(Function f);
// f compiled: traced and planned once per signature, then only run.
Function jit(Function f);

// The ONNX model f computes, traced with inputs typed like `examples` (inputs "arg<i>",
// outputs "out0").
ir::Model to_onnx(const Function& f, const std::vector<Array>& examples);

}  // namespace onyx::np
