// What onyx hands to libonnx 1.12: its checker, its shape inference and its version
// converter. libonnx trusts the protos it is given, and on some inputs it reads through a
// null pointer or past a shape's rank (SEGVs found by fuzz_training and a sweep of every
// schema with rank-0 and untyped inputs). Every model goes to libonnx through these two
// functions. They refuse, with onyx's InvalidModel error naming the node and the value,
// what libonnx cannot take:
// - values nothing defines (Graph::check_references);
// - IR 3 initializers that are not graph inputs;
// - nodes without an attribute their schema requires (Scan without `body`), or with fewer
//   or more inputs than it takes;
// - rank-0 inputs, declared or constant, to the op versions whose inference reads
//   dimension 0 unchecked (Gemm-6, LSTM-1, GRU-3, RNN-1, STFT-17).
// A rank-0 value that another node computes still reaches those five: only inference knows it.
#pragma once

#include <string>
#include <unordered_set>

#include "onyx/ir/graph.h"

namespace onnx {
class ModelProto;
}

namespace onyx::onnx_io {

// `model` as a ModelProto libonnx can take; InvalidModel when it cannot.
void libonnx_proto(const ir::Model& model, onnx::ModelProto* proto);

// The same, for shape inference with data propagation: every value a Shape node reads
// is declared a tensor, when nothing else types it, because Shape's data propagation
// dereferences its input's type (libonnx leaves a value untyped after an op it does not
// know). Returns the names so declared: a type inference keeps for them is its own.
std::unordered_set<std::string> libonnx_inference_proto(const ir::Model& model,
                                                        onnx::ModelProto* proto);

}  // namespace onyx::onnx_io
