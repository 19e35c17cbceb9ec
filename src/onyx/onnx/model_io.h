// Loading and saving models: ModelProto <-> ir::Model, losslessly.
#pragma once

#include <string>

#include "onyx/ir/graph.h"

namespace onnx {
class ModelProto;
class GraphProto;
class TypeProto;
}  // namespace onnx

namespace onyx::onnx_io {

// The newest IR version onyx reads (IR.md's IR_VERSION_2025_11_06).
constexpr int64_t kMaxIrVersion = 13;
// The newest default-domain opset of the specification onyx follows (Operators.md).
constexpr int64_t kNewestOpset = 28;

// Reads an .onnx file. External data is resolved against the file's directory.
ir::Model load_model(const std::string& path);
// Parses serialized ModelProto bytes; `base_dir` is for external data ("" forbids it).
ir::Model load_model_from_bytes(const std::string& bytes, const std::string& base_dir,
                                const std::string& name_for_errors);

// Writes the model atomically. Initializers are stored inline.
void save_model(const ir::Model& model, const std::string& path);
std::string serialize_model(const ir::Model& model);

// Conversions, for code that already holds protos (the onnx module's own users).
ir::Model model_from_proto(const onnx::ModelProto& proto, const std::string& base_dir,
                           const std::string& name_for_errors);
void model_to_proto(const ir::Model& model, onnx::ModelProto* proto);
std::shared_ptr<ir::Graph> graph_from_proto(const onnx::GraphProto& proto,
                                            const std::string& base_dir,
                                            const std::string& context);
void graph_to_proto(const ir::Graph& graph, onnx::GraphProto* proto);
ir::TypeInfo type_from_proto(const onnx::TypeProto& proto);
void type_to_proto(const ir::TypeInfo& type, onnx::TypeProto* proto);

}  // namespace onyx::onnx_io
