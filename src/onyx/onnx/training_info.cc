#include "onyx/onnx/training_info.h"

#include "onnx/onnx_pb.h"
#include "onyx/core/file_util.h"
#include "onyx/onnx/model_io.h"

namespace onyx::onnx_io {

std::vector<TrainingInfo> training_infos(const ir::Model& model) {
  std::vector<TrainingInfo> out;
  if (model.extra.empty()) return out;
  onnx::ModelProto proto;
  if (!proto.ParseFromString(model.extra)) {
    fail(ErrorKind::InvalidModel, model.path, ": cannot parse the model's training_info");
  }
  std::string base = model.path.empty() ? "" : directory_of(model.path);
  for (int i = 0; i < proto.training_info_size(); ++i) {
    const onnx::TrainingInfoProto& t = proto.training_info(i);
    std::string where = cat(model.path.empty() ? "model" : model.path, ": training_info ", i);
    TrainingInfo info;
    info.initialization = graph_from_proto(t.initialization(), base, where + " initialization");
    info.algorithm = graph_from_proto(t.algorithm(), base, where + " algorithm");
    for (const auto& kv : t.initialization_binding()) {
      info.initialization_binding.emplace_back(kv.key(), kv.value());
    }
    for (const auto& kv : t.update_binding())
      info.update_binding.emplace_back(kv.key(), kv.value());
    out.push_back(std::move(info));
  }
  return out;
}

void set_training_infos(ir::Model& model, const std::vector<TrainingInfo>& infos) {
  onnx::ModelProto proto;
  if (!model.extra.empty()) proto.ParseFromString(model.extra);
  proto.clear_training_info();
  for (const TrainingInfo& info : infos) {
    onnx::TrainingInfoProto* t = proto.add_training_info();
    graph_to_proto(*info.initialization, t->mutable_initialization());
    graph_to_proto(*info.algorithm, t->mutable_algorithm());
    for (const auto& [k, v] : info.initialization_binding) {
      auto* kv = t->add_initialization_binding();
      kv->set_key(k);
      kv->set_value(v);
    }
    for (const auto& [k, v] : info.update_binding) {
      auto* kv = t->add_update_binding();
      kv->set_key(k);
      kv->set_value(v);
    }
  }
  model.extra = proto.ByteSizeLong() ? proto.SerializeAsString() : "";
}

}  // namespace onyx::onnx_io
