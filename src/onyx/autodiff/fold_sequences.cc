// Sequences whose every element is known when the graph is built (SequenceEmpty,
// SequenceConstruct, SequenceInsert and SequenceErase at constant positions,
// SplitToSequence of a static size, SequenceMap over such sequences) are followed
// statically, and the ops that read tensors out of them (SequenceAt, SequenceLength,
// ConcatFromSequence) become tensor ops; optionals likewise (Optional, OptionalGetElement,
// OptionalHasElement). Gradients then flow through plain tensors. This is what a scripted
// PyTorch list becomes once its loop is unrolled: `outs.append(h)` in the body,
// `torch.stack(outs)` after it.
#include <algorithm>
#include <map>
#include <unordered_set>

#include "onyx/autodiff/rewriter.h"
#include "onyx/autodiff/unroll.h"
#include "onyx/ir/builder.h"
#include "onyx/onnx/checker.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

bool sequence_op(const ir::Node& n) {
  static const std::unordered_set<std::string> ops{
      "SequenceEmpty", "SequenceConstruct", "SequenceInsert",     "SequenceErase",
      "SequenceAt",    "SequenceLength",    "ConcatFromSequence", "SplitToSequence",
      "SequenceMap",   "Optional",          "OptionalGetElement", "OptionalHasElement"};
  return n.domain.empty() && ops.count(n.op_type);
}

class SequenceFolder {
 public:
  SequenceFolder(ir::Model& model) : g_(*model.graph), b_(g_), opset_(model.opset("")) {}

  size_t run(const Types& types) {
    types_ = &types;
    std::vector<ir::Node> nodes = std::move(g_.nodes);
    g_.nodes.clear();
    size_t folded = 0;
    for (ir::Node& n : nodes) {
      // An Identity passes a sequence on (unrolled loops return their results so).
      if (n.op_type == "Identity" && n.domain.empty() && elements(n.input(0))) {
        known_[n.outputs[0]] = *elements(n.input(0));
      }
      if (!sequence_op(n) || !fold(n)) {
        g_.nodes.push_back(std::move(n));
      } else {
        ++folded;
      }
    }
    if (folded) drop_unread_sequences();
    return folded;
  }

 private:
  // The elements of sequence `v`, when known.
  const std::vector<std::string>* elements(const std::string& v) const {
    auto it = known_.find(v);
    return it == known_.end() ? nullptr : &it->second;
  }

  // A position of a sequence of `size` (negative counts from the back), or nullopt when out
  // of range; `insert` allows size itself.
  static std::optional<size_t> position(int64_t p, size_t size, bool insert) {
    int64_t n = static_cast<int64_t>(size);
    if (p < 0) p += n;
    if (p < 0 || p > n || (p == n && !insert)) return std::nullopt;
    return static_cast<size_t>(p);
  }

  // Follows or rewrites node `n`; false leaves it as it is. Sequence-producing nodes stay
  // in the graph (a later reader may need them); drop_unread_sequences removes them once
  // nothing reads them.
  bool fold(const ir::Node& n) {
    const std::string& op = n.op_type;
    auto in = [&](size_t i) { return n.has_input(i) ? n.input(i) : std::string(); };
    if (op == "SequenceEmpty") {
      known_[n.outputs[0]] = {};
      return false;
    }
    if (op == "SequenceConstruct") {
      known_[n.outputs[0]] = n.inputs;
      return false;
    }
    if (op == "SplitToSequence") {
      split(n);
      return false;
    }
    if (op == "SequenceMap") {
      map(n);
      return false;
    }
    if (op == "Optional") {  // an optional is a sequence of at most one element
      known_[n.outputs[0]] =
          in(0).empty() ? std::vector<std::string>{} : std::vector<std::string>{in(0)};
      return false;
    }
    const std::vector<std::string>* seq = elements(in(0));
    if (!seq) return false;
    if (op == "OptionalGetElement" || op == "OptionalHasElement") {
      if (op == "OptionalHasElement") {
        std::string c = b_.constant("has", Tensor::scalar<bool>(!seq->empty()));
        b_.write("Identity", {c}, n.outputs[0]);
      } else {
        if (seq->empty()) return false;  // the op fails on an empty optional
        b_.write("Identity", {(*seq)[0]}, n.outputs[0]);
      }
      return true;
    }
    if (op == "SequenceInsert" || op == "SequenceErase") {
      std::vector<std::string> next = *seq;
      bool insert = op == "SequenceInsert";
      std::string pos_v = in(insert ? 2 : 1);
      std::optional<int64_t> p = pos_v.empty() ? std::optional<int64_t>(insert ? next.size() : -1)
                                               : g_.constant_int(pos_v);
      auto at = p ? position(*p, next.size(), insert) : std::nullopt;
      if (!at) return false;
      if (insert) {
        next.insert(next.begin() + static_cast<long>(*at), n.input(1));
      } else {
        next.erase(next.begin() + static_cast<long>(*at));
      }
      known_[n.outputs[0]] = std::move(next);
      return false;
    }
    if (op == "SequenceAt") {
      auto p = g_.constant_int(in(1));
      auto at = p ? position(*p, seq->size(), false) : std::nullopt;
      if (!at) return false;
      b_.write("Identity", {(*seq)[*at]}, n.outputs[0]);
      return true;
    }
    if (op == "SequenceLength") {
      std::string c =
          b_.constant("length", Tensor::scalar<int64_t>(static_cast<int64_t>(seq->size())));
      b_.write("Identity", {c}, n.outputs[0]);
      return true;
    }
    if (op == "ConcatFromSequence") {
      if (seq->empty()) return false;  // the op itself fails on an empty sequence
      int64_t axis = n.attr_int("axis", 0);
      std::vector<std::string> parts = *seq;
      if (n.attr_int("new_axis", 0)) {
        for (auto& p : parts) p = unsqueeze(b_, p, {axis}, opset_);
      }
      b_.write("Concat", parts, n.outputs[0], {attr("axis", axis)});
      return true;
    }
    return false;
  }

  // SequenceMap over known sequences: one copy of the body per element, reading that
  // element of each sequence input and the whole of each tensor input. (The node stays
  // for any reader that still needs its sequences.)
  void map(const ir::Node& n) {
    const ir::Attribute* a = n.find_attr("body");
    if (!a || !a->g || a->g->outputs.size() != n.outputs.size()) return;
    std::vector<const std::vector<std::string>*> seqs;
    size_t length = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const std::vector<std::string>* e = elements(n.inputs[i]);
      auto t = types_->find(n.inputs[i]);
      bool is_seq = t != types_->end() && t->second.kind == ir::TypeInfo::Kind::Sequence;
      if (i == 0 || is_seq) {
        if (!e || (i > 0 && e->size() != length)) return;  // unknown, or of another length
        length = e->size();
      }
      seqs.push_back(i == 0 || is_seq ? e : nullptr);
    }
    std::vector<std::vector<std::string>> results(n.outputs.size());
    std::string prefix = b_.unique((n.name.empty() ? "sequence_map" : n.name) + "/map") + "/";
    for (size_t e = 0; e < length; ++e) {
      std::vector<std::string> args;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        args.push_back(seqs[i] ? (*seqs[i])[e] : n.inputs[i]);
      }
      auto outs = inline_graph(b_, *a->g, args, prefix + std::to_string(e) + "/");
      for (size_t k = 0; k < outs.size(); ++k) results[k].push_back(outs[k]);
    }
    for (size_t k = 0; k < results.size(); ++k) known_[n.outputs[k]] = results[k];
  }

  // SplitToSequence with a static split: its elements are a Split's outputs.
  void split(const ir::Node& n) {
    std::string x = n.input(0);
    auto it = types_->find(x);
    if (it == types_->end() || !it->second.shape) return;
    int64_t rank = static_cast<int64_t>(it->second.shape->size());
    int64_t axis = n.attr_int("axis", 0);
    if (axis < -rank || axis >= rank) return;
    if (axis < 0) axis += rank;
    const auto& dim = (*it->second.shape)[static_cast<size_t>(axis)];
    if (!dim.value) return;
    int64_t len = *dim.value;
    std::vector<int64_t> sizes;
    bool keep = true;
    if (!n.has_input(1)) {  // pieces of 1, the axis squeezed unless keepdims
      sizes.assign(static_cast<size_t>(len), 1);
      keep = n.attr_int("keepdims", 1) != 0;
    } else {
      auto s = g_.constant_value(n.input(1));
      if (!s) return;
      std::vector<int64_t> v = s->to_int64s();
      if (s->rank() == 0) {  // equal pieces of v[0], the last one shorter
        if (v[0] <= 0) return;
        for (int64_t done = 0; done < len; done += v[0])
          sizes.push_back(std::min(v[0], len - done));
      } else {
        sizes = v;
      }
    }
    if (sizes.empty() || opset_ < 13) return;  // Split's sizes became an input at 13
    std::string split = b_.constant(
        "split", Tensor::from_vector<int64_t>({static_cast<int64_t>(sizes.size())}, sizes));
    std::vector<std::string> parts =
        b_.add("Split", {x, split}, {attr("axis", axis)}, sizes.size());
    if (!keep) {
      std::string axes = b_.constant("axes", Tensor::from_vector<int64_t>({1}, {axis}));
      for (auto& p : parts) p = b_.op("Squeeze", {p, axes});
    }
    known_[n.outputs[0]] = parts;
  }

  // Removes the sequence nodes nothing reads any more (repeatedly: removing an insert may
  // leave the one before it unread).
  void drop_unread_sequences() {
    for (bool removed = true; removed;) {
      removed = false;
      std::unordered_set<std::string> read;
      for (const auto& n : g_.nodes) {
        for (const auto& v : ir::node_reads(n)) read.insert(v);
      }
      for (const auto& o : g_.outputs) read.insert(o.name);
      std::erase_if(g_.nodes, [&](const ir::Node& n) {
        bool dead =
            sequence_op(n) && std::none_of(n.outputs.begin(), n.outputs.end(),
                                           [&](const std::string& o) { return read.count(o); });
        removed |= dead;
        return dead;
      });
    }
  }

  ir::Graph& g_;
  ir::GraphBuilder b_;
  int64_t opset_;
  const Types* types_ = nullptr;
  std::map<std::string, std::vector<std::string>> known_;
};

}  // namespace

size_t fold_sequences(ir::Model& model) {
  ir::Graph& g = *model.graph;
  if (std::none_of(g.nodes.begin(), g.nodes.end(), sequence_op)) return 0;
  Types types = onnx_io::infer_value_types(model);
  return SequenceFolder(model).run(types);
}

}  // namespace onyx::autodiff
