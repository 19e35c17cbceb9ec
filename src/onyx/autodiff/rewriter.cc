#include "onyx/autodiff/rewriter.h"

#include <map>

namespace onyx::autodiff {

std::vector<std::string> inline_graph(ir::GraphBuilder& b, const ir::Graph& body,
                                      const std::vector<std::string>& args,
                                      const std::string& prefix) {
  std::map<std::string, std::string> rename;
  for (size_t i = 0; i < body.inputs.size() && i < args.size(); ++i) {
    rename[body.inputs[i].name] = args[i];
  }
  for (const auto& init : body.initializers) {
    rename[init.name] = b.constant(prefix + init.name, init.value);
  }
  for (const ir::Node& src : body.nodes) {
    ir::Node n = src;
    n.name = b.unique(prefix + (src.name.empty() ? src.op_type : src.name));
    for (auto& in : n.inputs) {
      if (auto it = rename.find(in); it != rename.end()) in = it->second;
    }
    for (auto& a : n.attributes) {  // nested subgraphs read this copy's values
      if (a.g) {
        a.g = ir::deep_copy(*a.g);
        ir::rename_reads(*a.g, rename);
      }
      for (auto& sg : a.graphs) {
        sg = ir::deep_copy(*sg);
        ir::rename_reads(*sg, rename);
      }
    }
    for (auto& out : n.outputs) {
      if (out.empty()) continue;
      std::string fresh = b.unique(prefix + out);
      rename[out] = fresh;
      out = fresh;
    }
    b.graph().nodes.push_back(std::move(n));
  }
  std::vector<std::string> outs;
  for (const auto& o : body.outputs) {
    auto it = rename.find(o.name);
    outs.push_back(it != rename.end() ? it->second : o.name);  // else an enclosing value
  }
  return outs;
}

std::string Rewriter::ints(const std::vector<int64_t>& v) {
  return b_.constant("c", Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
}

std::string Rewriter::index(int64_t i) {
  return b_.constant("c", Tensor::scalar<int64_t>(i));
}

std::string Rewriter::scalar(double v, DType t) {
  if (t != DType::Float64 && t != DType::Float32)
    fail_here("values of type ", dtype_name(t), " are not supported");
  return b_.scalar(v, t);
}

std::optional<std::vector<int64_t>> Rewriter::dims_of(const std::string& v) const {
  auto it = types_.find(v);
  if (it == types_.end() || !it->second.shape) return std::nullopt;
  std::vector<int64_t> d;
  for (const auto& dim : *it->second.shape) d.push_back(dim.value ? *dim.value : -1);
  return d;
}

DType Rewriter::elem(const std::string& v) const {
  auto it = types_.find(v);
  return it == types_.end() ? DType::Undefined : it->second.elem;
}

std::string Rewriter::share_heads(const std::string& x, int64_t kv_heads, int64_t q_heads,
                                  int64_t d) {
  if (kv_heads == q_heads) return x;
  std::string wide = b_.op("Reshape", {x, ints({0, kv_heads, 1, -1, d})});
  std::string copies = b_.op("Expand", {wide, ints({1, 1, q_heads / kv_heads, 1, 1})});
  return b_.op("Reshape", {copies, ints({0, q_heads, -1, d})});
}

void Rewriter::alias(const std::string& value, const std::string& name) {
  b_.write("Identity", {value}, name);
}

Rewriter::FlatImage Rewriter::flat_image(const std::string& x, int64_t height, int64_t width) {
  std::string values = b_.op("Reshape", {x, ints({0, 0, height * width})});
  std::string channels = b_.op("Slice", {b_.op("Shape", {values}), ints({1}), ints({2})});
  std::string spread =
      b_.op("Concat", {ints({1}), channels, ints({1})}, {ir::attr("axis", int64_t{0})});
  return {values, spread, width};
}

std::string Rewriter::read_pixels(const FlatImage& image, const std::string& row,
                                  const std::string& col) {
  auto as_index = [&](const std::string& v) {
    return b_.op("Cast", {v}, {ir::attr("to", static_cast<int64_t>(DType::Int64))});
  };
  std::string flat =
      b_.op("Add", {b_.op("Mul", {as_index(row), index(image.width)}), as_index(col)});
  flat = b_.op("Expand", {b_.op("Reshape", {flat, ints({0, 1, -1})}), image.spread});
  return b_.op("GatherElements", {image.values, flat}, {ir::attr("axis", int64_t{2})});
}

}  // namespace onyx::autodiff
