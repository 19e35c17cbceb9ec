#include "onyx/onnx/functions.h"

#include <unordered_map>

#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onyx/onnx/libonnx_input.h"
#include "onyx/onnx/model_io.h"

namespace onyx::onnx_io {

namespace {

const onnx::OpSchema* schema_for(const std::string& domain, const std::string& op_type,
                                 int64_t opset) {
  return onnx::OpSchemaRegistry::Schema(op_type, static_cast<int>(opset), domain);
}

// Applies `map_name` to the names a subgraph reads from enclosing scopes (names it does
// not define itself), recursively, so function bodies with Loop/If keep their wiring.
void rename_free(ir::Graph& g, const std::function<std::string(const std::string&)>& map_name) {
  std::unordered_map<std::string, bool> local;
  for (const auto& in : g.inputs) local[in.name] = true;
  for (const auto& init : g.initializers) local[init.name] = true;
  for (const auto& n : g.nodes) {
    for (const auto& o : n.outputs) local[o] = true;
  }
  auto inner = [&](const std::string& v) { return local.count(v) ? v : map_name(v); };
  for (auto& n : g.nodes) {
    for (auto& in : n.inputs) {
      if (!in.empty()) in = inner(in);
    }
    for (auto& a : n.attributes) {
      if (a.g) {
        auto copy = std::make_shared<ir::Graph>(*a.g);
        rename_free(*copy, inner);
        a.g = copy;
      }
      for (auto& sg : a.graphs) {
        auto copy = std::make_shared<ir::Graph>(*sg);
        rename_free(*copy, inner);
        sg = copy;
      }
    }
  }
  for (auto& out : g.outputs) out.name = inner(out.name);
}

class Expander {
 public:
  Expander(const ir::Model& model, const HasKernel& has_kernel)
      : model_(model), has_kernel_(has_kernel) {}

  // Expands one graph; returns null when nothing changed. `depth` counts function bodies
  // inside function bodies (a body that used its own op would expand forever); subgraphs
  // do not count: protobuf's parser already bounds how deep they nest.
  std::shared_ptr<ir::Graph> expand(const ir::Graph& g, int depth) {
    if (depth > 16) fail(ErrorKind::InvalidModel, "function expansion nests too deeply");
    bool changed = false;
    auto out = std::make_shared<ir::Graph>(g);
    out->nodes.clear();
    for (const ir::Node& n : g.nodes) {
      ir::Node node = n;
      for (auto& a : node.attributes) {
        if (a.g) {
          if (auto sub = expand(*a.g, depth)) {
            a.g = sub;
            changed = true;
          }
        }
        for (auto& sg : a.graphs) {
          if (auto sub = expand(*sg, depth)) {
            sg = sub;
            changed = true;
          }
        }
      }
      std::vector<ir::Node> body;
      if (!has_kernel_(node) && body_of(node, &body)) {
        // The body's own nodes may need expanding too.
        ir::Graph inner;
        inner.nodes = std::move(body);
        auto expanded = expand(inner, depth + 1);
        const auto& nodes = expanded ? expanded->nodes : inner.nodes;
        out->nodes.insert(out->nodes.end(), nodes.begin(), nodes.end());
        changed = true;
      } else {
        out->nodes.push_back(std::move(node));
      }
    }
    return changed ? out : nullptr;
  }

 private:
  bool body_of(const ir::Node& node, std::vector<ir::Node>* body) {
    int64_t opset = model_.opset(node.domain);
    const onnx::OpSchema* schema = schema_for(node.domain, node.op_type, opset);
    if (!schema) return false;
    onnx::FunctionProto fn;
    if (schema->HasFunction()) {
      fn = *schema->GetFunction();
    } else if (schema->HasContextDependentFunction()) {
      onnx::NodeProto np = to_proto(node);
      std::vector<onnx::TypeProto> types;
      for (const auto& in : node.inputs) {
        const onnx::TypeProto* t = in.empty() ? nullptr : type_of(in);
        if (!in.empty() && !t) return false;  // the builder needs every input type
        types.push_back(t ? *t : onnx::TypeProto());
      }
      onnx::FunctionBodyBuildContextImpl ctx(np, types);
      if (!schema->BuildContextDependentFunction(ctx, fn)) return false;
    } else {
      return false;
    }
    onnx::GraphProto gp;
    *gp.mutable_node() = fn.node();
    auto g = graph_from_proto(gp, "", node.describe() + ": function body");
    std::string prefix =
        (node.name.empty() ? node.outputs.empty() ? std::string("fn") : node.outputs[0]
                           : node.name) +
        "::" + std::to_string(counter_++) + "::";
    std::unordered_map<std::string, std::string> rename;
    for (int i = 0; i < fn.input_size(); ++i) {
      rename[fn.input(i)] = static_cast<size_t>(i) < node.inputs.size() ? node.inputs[i] : "";
    }
    for (int i = 0; i < fn.output_size(); ++i) {
      bool used = static_cast<size_t>(i) < node.outputs.size() && !node.outputs[i].empty();
      rename[fn.output(i)] = used ? node.outputs[i] : prefix + fn.output(i);
    }
    auto map_name = [&](const std::string& v) -> std::string {
      if (v.empty()) return v;
      auto it = rename.find(v);
      return it != rename.end() ? it->second : prefix + v;
    };
    for (ir::Node& b : g->nodes) {
      for (auto& in : b.inputs) in = map_name(in);
      for (auto& out : b.outputs) out = map_name(out);
      for (auto& a : b.attributes) {
        if (a.g) {
          auto copy = std::make_shared<ir::Graph>(*a.g);
          rename_free(*copy, map_name);
          a.g = copy;
        }
        for (auto& sg : a.graphs) {
          auto copy = std::make_shared<ir::Graph>(*sg);
          rename_free(*copy, map_name);
          sg = copy;
        }
      }
      if (!b.name.empty()) b.name = prefix + b.name;
      std::vector<ir::Attribute> attrs;
      for (auto& a : b.attributes) {
        if (a.ref_attr_name.empty()) {
          attrs.push_back(a);
          continue;
        }
        if (const ir::Attribute* given = node.find_attr(a.ref_attr_name)) {
          ir::Attribute copy = *given;
          copy.name = a.name;
          attrs.push_back(copy);
        } else if (auto d = default_attr(*schema, a.ref_attr_name)) {
          d->name = a.name;
          attrs.push_back(*d);
        }
      }
      b.attributes = std::move(attrs);
      body->push_back(std::move(b));
    }
    return true;
  }

  std::optional<ir::Attribute> default_attr(const onnx::OpSchema& schema, const std::string& name) {
    auto it = schema.attributes().find(name);
    if (it == schema.attributes().end() || !it->second.default_value.has_type())
      return std::nullopt;
    onnx::NodeProto np;
    *np.add_attribute() = it->second.default_value;
    np.set_op_type("Dummy");
    onnx::GraphProto gp;
    *gp.add_node() = np;
    auto g = graph_from_proto(gp, "", "default attribute");
    return g->nodes[0].attributes[0];
  }

  onnx::NodeProto to_proto(const ir::Node& node) {
    ir::Graph tmp;
    tmp.nodes.push_back(node);
    onnx::GraphProto gp;
    graph_to_proto(tmp, &gp);
    return gp.node(0);
  }

  // Types of values from ONNX shape inference over the whole model, computed once.
  const onnx::TypeProto* type_of(const std::string& name) {
    if (!inferred_) {
      inferred_ = true;
      onnx::ModelProto mp;
      libonnx_proto(model_, &mp);
      try {
        onnx::shape_inference::InferShapes(mp);
      } catch (const std::exception&) {
        // Partial information is still useful; nodes without types stay unexpanded.
      }
      collect(mp.graph());
    }
    auto it = types_.find(name);
    return it == types_.end() ? nullptr : &it->second;
  }

  void collect(const onnx::GraphProto& g) {
    for (const auto& v : g.input()) types_[v.name()] = v.type();
    for (const auto& v : g.value_info()) types_[v.name()] = v.type();
    for (const auto& v : g.output()) types_[v.name()] = v.type();
    for (const auto& t : g.initializer()) {
      onnx::TypeProto tp;
      tp.mutable_tensor_type()->set_elem_type(t.data_type());
      for (auto d : t.dims())
        tp.mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
      types_.emplace(t.name(), tp);
    }
    for (const auto& n : g.node()) {
      for (const auto& a : n.attribute()) {
        if (a.has_g()) collect(a.g());
        for (const auto& sg : a.graphs()) collect(sg);
      }
    }
  }

  const ir::Model& model_;
  const HasKernel& has_kernel_;
  int counter_ = 0;
  bool inferred_ = false;
  std::unordered_map<std::string, onnx::TypeProto> types_;
};

}  // namespace

bool has_function_body(const std::string& domain, const std::string& op_type, int64_t opset) {
  const onnx::OpSchema* s = schema_for(domain, op_type, opset);
  return s && (s->HasFunction() || s->HasContextDependentFunction());
}

std::shared_ptr<const ir::Graph> expand_functions(std::shared_ptr<const ir::Graph> graph,
                                                  const ir::Model& model,
                                                  const HasKernel& has_kernel) {
  Expander ex(model, has_kernel);
  auto expanded = ex.expand(*graph, 0);
  return expanded ? expanded : graph;
}

}  // namespace onyx::onnx_io
