#include "onyx/onnx/version_convert.h"

#include <algorithm>

#include "onnx/onnx_pb.h"
#include "onnx/version_converter/convert.h"
#include "onyx/core/error.h"
#include "onyx/onnx/libonnx_input.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/opset_steps.h"

namespace onyx::onnx_io {

namespace {

// libonnx's converter, for opsets up to kFirstOwnStep.
ir::Model libonnx_convert(const ir::Model& model, int64_t target) {
  onnx::ModelProto proto;
  libonnx_proto(model, &proto);
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(proto, static_cast<int>(target));
  } catch (const std::exception& e) {
    fail(ErrorKind::Unsupported, model.name_for_errors(), ": cannot convert from opset ",
         model.opset(""), " to ", target, ": ", e.what());
  }
  ir::Model out = model_from_proto(converted, "", model.name_for_errors());
  out.path = model.path;
  return out;
}

// A copy whose graphs step_opset may change without touching `model`'s.
ir::Model unshared(const ir::Model& model) {
  ir::Model m = model;
  m.graph = ir::deep_copy(*model.graph);
  for (auto& t : m.training_info) {
    t.initialization = ir::deep_copy(*t.initialization);
    t.algorithm = ir::deep_copy(*t.algorithm);
  }
  return m;
}

}  // namespace

ir::Model convert_opset(const ir::Model& model, int64_t target) {
  int64_t from = model.opset("");
  if (from == target) return model;
  if (target < 1 || target > kLastOwnStep || from > kLastOwnStep) {
    fail(ErrorKind::Unsupported, model.name_for_errors(), ": cannot convert from opset ", from,
         " to ", target, ": onyx converts between opsets 1 and ", kLastOwnStep);
  }
  if (target > from) {
    ir::Model m = from < kFirstOwnStep ? libonnx_convert(model, std::min(target, kFirstOwnStep))
                                       : unshared(model);
    if (target > kFirstOwnStep) step_opset(m, std::max(from, kFirstOwnStep), target);
    return m;
  }
  ir::Model m = unshared(model);
  if (from > kFirstOwnStep) step_opset(m, from, std::max(target, kFirstOwnStep));
  return target < kFirstOwnStep ? libonnx_convert(m, target) : m;
}

}  // namespace onyx::onnx_io
