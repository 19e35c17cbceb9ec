// The ONNX reference checker and shape inference, from libonnx.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::onnx_io {

struct CheckerResult {
  std::string checker_error;          // empty when the checker accepts the model
  std::string shape_inference_error;  // empty when shape inference succeeds
  int inferred_values = 0;            // value_info entries shape inference produced
  // For models newer than libonnx 1.12 knows (IR > 8 or opset > 17): how they were checked
  // ("as opset 17 and IR 8"), or why the checker could not run (then checker_error is empty).
  std::string checked_as;
  std::string not_checked;
};

// Runs onnx::checker::check_model (full check when the file is on disk) and strict shape
// inference on a copy of the model. A model newer than libonnx knows is checked converted
// down to opset 17 and IR 8 (onyx's own opset steps), when it converts.
CheckerResult run_onnx_checker(const std::string& path);

}  // namespace onyx::onnx_io

namespace onyx::onnx_io {

// Static types of the model's values, as ONNX shape inference (non-strict, with data
// propagation) finds them, plus the declared types of inputs, outputs and initializers.
// Values inference cannot type are absent.
std::unordered_map<std::string, ir::TypeInfo> infer_value_types(const ir::Model& model);

}  // namespace onyx::onnx_io
