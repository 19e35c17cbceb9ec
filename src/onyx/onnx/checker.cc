#include "onyx/onnx/checker.h"

#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onyx/core/error.h"
#include "onyx/core/file_util.h"

namespace onyx::onnx_io {

CheckerResult run_onnx_checker(const std::string& path) {
  CheckerResult r;
  try {
    onnx::checker::check_model(path);
  } catch (const std::exception& e) {
    r.checker_error = e.what();
  }
  onnx::ModelProto proto;
  std::string bytes = read_file(path, size_t{2} << 30);
  if (!proto.ParseFromString(bytes)) {
    r.shape_inference_error = "model cannot be parsed";
    return r;
  }
  try {
    onnx::ShapeInferenceOptions opts{true, 1, false};
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), opts);
    r.inferred_values = proto.graph().value_info_size();
  } catch (const std::exception& e) {
    r.shape_inference_error = e.what();
  }
  return r;
}

}  // namespace onyx::onnx_io
