// TensorProto <-> Tensor, including external data kept in side files.
#pragma once

#include <string>

#include "onnx/onnx_pb.h"
#include "onyx/core/tensor.h"

namespace onyx::onnx_io {

struct TensorReadOptions {
  // Directory external-data locations are resolved against; "" forbids external data.
  std::string base_dir;
  std::string context;  // names the file/initializer in errors
};

Tensor tensor_from_proto(const onnx::TensorProto& proto, const TensorReadOptions& options);
void tensor_to_proto(const Tensor& t, onnx::TensorProto* proto);

// Densifies a SparseTensorProto (values + indices, linear or [NNZ, rank]).
Tensor tensor_from_sparse_proto(const onnx::SparseTensorProto& proto,
                                const TensorReadOptions& options);

// Resolves an external-data location inside `base_dir`: refuses absolute paths, '..'
// escapes and symlinks that lead outside. Returns the canonical path.
std::string resolve_external_path(const std::string& base_dir, const std::string& location,
                                  const std::string& context);

}  // namespace onyx::onnx_io
