// The ONNX reference checker and shape inference, from libonnx.
#pragma once

#include <string>
#include <vector>

namespace onyx::onnx_io {

struct CheckerResult {
  std::string checker_error;          // empty when the checker accepts the model
  std::string shape_inference_error;  // empty when shape inference succeeds
  int inferred_values = 0;            // value_info entries shape inference produced
};

// Runs onnx::checker::check_model (full check when the file is on disk) and strict
// shape inference on a copy of the model.
CheckerResult run_onnx_checker(const std::string& path);

}  // namespace onyx::onnx_io
