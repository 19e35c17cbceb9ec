#include "onyx/onnx/version_convert.h"

#include "onnx/onnx_pb.h"
#include "onnx/version_converter/convert.h"
#include "onyx/core/error.h"
#include "onyx/onnx/model_io.h"

namespace onyx::onnx_io {

ir::Model convert_opset(const ir::Model& model, int64_t target) {
  if (model.opset("") == target) return model;
  onnx::ModelProto proto;
  model_to_proto(model, &proto);
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(proto, static_cast<int>(target));
  } catch (const std::exception& e) {
    fail(ErrorKind::Unsupported, model.name_for_errors(),
         ": cannot convert from opset ", model.opset(""), " to ", target, ": ", e.what());
  }
  ir::Model out = model_from_proto(converted, "", model.name_for_errors());
  out.path = model.path;
  return out;
}

}  // namespace onyx::onnx_io
