// ai.onnx.ml TreeEnsembleClassifier and TreeEnsembleRegressor (ML opsets 1 and 3; 3 adds
// the double *_as_tensor attributes). Nodes are named by (tree id, node id) and leaves
// carry (tree id, node id, class or target id, weight) votes; the kernel resolves the names
// into a flat Forest once. As in the reference implementation, trees run in ascending tree
// id, a NaN feature follows nodes_missing_value_tracks_true whatever the comparison, and
// scores accumulate in float (the regressor: in double for double inputs).
#include <limits>
#include <map>
#include <set>
#include <vector>

#include "onyx/ops/ml_attrs.h"
#include "onyx/ops/ml_transform.h"
#include "onyx/ops/ml_trees.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

uint8_t mode_named(const KernelInfo& info, const std::string& s) {
  static const std::pair<const char*, uint8_t> kModes[] = {
      {"BRANCH_LEQ", ml::kLeq}, {"BRANCH_LT", ml::kLt}, {"BRANCH_GTE", ml::kGte},
      {"BRANCH_GT", ml::kGt},   {"BRANCH_EQ", ml::kEq}, {"BRANCH_NEQ", ml::kNeq},
      {"LEAF", ml::kLeaf}};
  for (const auto& [name, mode] : kModes)
    if (s == name) return mode;
  info.fail(ErrorKind::InvalidModel, "unknown node mode '", s, "'");
}

// The Forest of a TreeEnsembleClassifier ("class") or TreeEnsembleRegressor ("target").
ml::Forest old_forest(const KernelInfo& info, const std::string& prefix, int64_t n_targets) {
  std::vector<int64_t> trees = ml::ints(info, "nodes_treeids"),
                       ids = ml::ints(info, "nodes_nodeids");
  std::vector<int64_t> features = ml::ints(info, "nodes_featureids");
  std::vector<int64_t> on_true = ml::ints(info, "nodes_truenodeids");
  std::vector<int64_t> on_false = ml::ints(info, "nodes_falsenodeids");
  std::vector<int64_t> missing = ml::ints(info, "nodes_missing_value_tracks_true");
  std::vector<std::string> modes = ml::strings(info, "nodes_modes");
  std::vector<double> values = ml::doubles_or_tensor(info, "nodes_values");
  const size_t n = ids.size();
  if (n == 0) info.fail(ErrorKind::InvalidModel, "the model has no nodes");
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2))
    info.fail(ErrorKind::ResourceLimit, "too many tree nodes: ", n);
  const char* why = "one per node";
  ml::check_size(info, "nodes_treeids", trees.size(), n, why);
  ml::check_size(info, "nodes_featureids", features.size(), n, why);
  ml::check_size(info, "nodes_modes", modes.size(), n, why);
  ml::check_size(info, "nodes_truenodeids", on_true.size(), n, why);
  ml::check_size(info, "nodes_falsenodeids", on_false.size(), n, why);
  ml::check_size(info, "nodes_values", values.size(), n, why);
  if (!missing.empty())
    ml::check_size(info, "nodes_missing_value_tracks_true", missing.size(), n, why);

  std::map<std::pair<int64_t, int64_t>, int32_t> index;
  for (size_t i = 0; i < n; ++i) {
    if (!index.emplace(std::pair{trees[i], ids[i]}, static_cast<int32_t>(i)).second)
      info.fail(ErrorKind::InvalidModel, "tree ", trees[i], " has node id ", ids[i], " twice");
  }
  std::vector<int64_t> vtree = ml::ints(info, prefix + "_treeids");
  std::vector<int64_t> vnode = ml::ints(info, prefix + "_nodeids");
  std::vector<int64_t> vid = ml::ints(info, prefix + "_ids");
  std::vector<double> vweight = ml::doubles_or_tensor(info, prefix + "_weights");
  ml::check_size(info, prefix + "_nodeids", vnode.size(), vtree.size(), "one per vote");
  ml::check_size(info, prefix + "_ids", vid.size(), vtree.size(), "one per vote");
  ml::check_size(info, prefix + "_weights", vweight.size(), vtree.size(), "one per vote");
  // Each node's votes, in attribute order; votes on unknown nodes are a model error, votes
  // on interior nodes are never reached (the reference ignores them too).
  std::vector<std::vector<int32_t>> node_votes(n);
  for (size_t k = 0; k < vtree.size(); ++k) {
    auto it = index.find({vtree[k], vnode[k]});
    if (it == index.end())
      info.fail(ErrorKind::InvalidModel, "a vote names node ", vnode[k], " of tree ", vtree[k],
                ", which does not exist");
    node_votes[it->second].push_back(static_cast<int32_t>(k));
  }

  ml::Forest f;
  f.n_targets = n_targets;
  f.nodes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    ml::TreeNode& t = f.nodes[i];
    t.mode = mode_named(info, modes[i]);
    t.nan_true = !missing.empty() && missing[i] >= 1;
    if (t.mode == ml::kLeaf) {
      t.first = static_cast<int32_t>(f.votes.size());
      for (int32_t k : node_votes[i])
        f.votes.push_back(
            {static_cast<int32_t>(std::clamp<int64_t>(vid[k], -1, INT32_MAX)), vweight[k]});
      t.second = static_cast<int32_t>(f.votes.size());
      continue;
    }
    t.value = values[i];
    t.feature = static_cast<int32_t>(std::clamp<int64_t>(features[i], -1, INT32_MAX));
    for (auto [child, slot] :
         {std::pair{on_true[i], &t.first}, std::pair{on_false[i], &t.second}}) {
      auto it = index.find({trees[i], child});
      if (it == index.end())
        info.fail(ErrorKind::InvalidModel, "node ", ids[i], " of tree ", trees[i],
                  " branches to node ", child, ", which the tree does not have");
      *slot = it->second;
    }
  }
  // A tree's root is its first node; trees run in ascending id.
  std::map<int64_t, int32_t> roots;
  for (size_t i = 0; i < n; ++i) roots.emplace(trees[i], static_cast<int32_t>(i));
  for (const auto& [tree, root] : roots) f.roots.push_back(root);
  f.validate(info);
  return f;
}

// Calls f(T{}) for X's element type: float or double, or integers (read as numbers).
template <typename F>
void visit_tree_input(const KernelContext& ctx, F&& f) {
  switch (ctx.input(0).dtype()) {
    case DType::Float32:
      return f(float{});
    case DType::Float64:
      return f(double{});
    case DType::Float16:
      return f(Float16{});
    case DType::Int64:
      return f(int64_t{});
    case DType::Int32:
      return f(int32_t{});
    default:
      ctx.fail(ctx.input_name(0), " must be float, double, int64 or int32, not ",
               dtype_name(ctx.input(0).dtype()));
  }
}

class TreeEnsembleRegressorKernel final : public Kernel {
 public:
  explicit TreeEnsembleRegressorKernel(const KernelInfo& info)
      : post_(ml::post_transform_named(info)), base_(ml::doubles_or_tensor(info, "base_values")) {
    std::string agg = info.node.attr_string("aggregate_function", "SUM");
    if (agg == "SUM") {
      agg_ = ml::Aggregate::Sum;
    } else if (agg == "AVERAGE") {
      agg_ = ml::Aggregate::Average;
    } else if (agg == "MIN") {
      agg_ = ml::Aggregate::Min;
    } else if (agg == "MAX") {
      agg_ = ml::Aggregate::Max;
    } else {
      info.fail(ErrorKind::InvalidModel, "aggregate_function must be SUM, AVERAGE, MIN or MAX");
    }
    int64_t targets = info.node.attr_int("n_targets", 0);
    if (targets <= 0) {  // absent: as many as the votes name
      for (int64_t id : ml::ints(info, "target_ids")) targets = std::max(targets, id + 1);
      targets = std::max<int64_t>(targets, 1);
    }
    forest_ = old_forest(info, "target", targets);
    if (base_.size() > 1)
      ml::check_size(info, "base_values", base_.size(), static_cast<size_t>(targets),
                     "one per target");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<TreeEnsembleRegressorKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const auto shape = ml::tree_input(ctx, forest_);
    const int64_t rows = shape.first, cols = shape.second;
    const int64_t nt = forest_.n_targets;
    Tensor& y = ctx.allocate(0, DType::Float32, {rows, nt});
    const Tensor& x = ctx.input(0);
    visit_tree_input(ctx, [&](auto tag) {
      using T = decltype(tag);
      if (x.dtype() == DType::Float64) {
        run<double>(ctx, x.data<T>(), rows, cols, y.data<float>());
      } else {
        run<float>(ctx, x.data<T>(), rows, cols, y.data<float>());
      }
    });
  }

 private:
  template <typename A, typename T>
  void run(KernelContext& ctx, const T* x, int64_t rows, int64_t cols, float* y) const {
    const int64_t nt = forest_.n_targets;
    const A start = agg_ == ml::Aggregate::Min   ? std::numeric_limits<A>::max()
                    : agg_ == ml::Aggregate::Max ? std::numeric_limits<A>::lowest()
                                                 : A(0);
    const A trees = static_cast<A>(forest_.roots.size());
    ctx.pool().parallel_for(rows, ml::tree_grain(forest_), [&](int64_t lo, int64_t hi) {
      std::vector<A> acc(static_cast<size_t>(nt));
      std::vector<double> s(static_cast<size_t>(nt));
      for (int64_t r = lo; r < hi; ++r) {
        std::fill(acc.begin(), acc.end(), start);
        // AVERAGE sums, then divides by the tree count before base_values are added.
        forest_.gather(x + r * cols, agg_ == ml::Aggregate::Average ? ml::Aggregate::Sum : agg_,
                       1.0, acc.data());
        for (int64_t t = 0; t < nt; ++t) {
          A v = agg_ == ml::Aggregate::Average ? static_cast<A>(acc[t] / trees) : acc[t];
          if (!base_.empty())
            v = static_cast<A>(static_cast<double>(v) + base_[base_.size() == 1 ? 0 : t]);
          s[t] = v;
        }
        ml::apply(post_, s.data(), nt);
        for (int64_t t = 0; t < nt; ++t) y[r * nt + t] = static_cast<float>(s[t]);
      }
    });
  }

  ml::PostTransform post_;
  ml::Aggregate agg_ = ml::Aggregate::Sum;
  std::vector<double> base_;
  ml::Forest forest_;
};

// TreeEnsembleClassifier: class scores start at base_values and sum the votes; then the
// post_transform, and the label of the best score. When every vote names the same class
// (binary models as scikit-learn's converters write them: one score s for the positive
// class) the scores become (1 - s, s) for NONE and PROBIT, (-s, s) otherwise.
class TreeEnsembleClassifierKernel final : public Kernel {
 public:
  explicit TreeEnsembleClassifierKernel(const KernelInfo& info)
      : labels_(info, "classlabels_int64s"),
        post_(ml::post_transform_named(info)),
        base_(ml::doubles_or_tensor(info, "base_values")) {
    if (labels_.size() == 0) {
      info.fail(ErrorKind::InvalidModel, "classlabels_int64s or classlabels_strings is needed");
    }
    forest_ = old_forest(info, "class", labels_.size());
    if (base_.size() > 1)
      ml::check_size(info, "base_values", base_.size(), static_cast<size_t>(labels_.size()),
                     "one per class");
    std::set<int64_t> ids;
    for (int64_t id : ml::ints(info, "class_ids")) {
      if (id < 0 || id >= labels_.size())
        info.fail(ErrorKind::InvalidModel, "class id ", id, " is not below the ", labels_.size(),
                  " class labels");
      ids.insert(id);
    }
    binary_ = ids.size() == 1;
    if (binary_) binary_class_ = static_cast<int32_t>(*ids.begin());
    cols_ = binary_ && labels_.size() == 1 ? 2 : labels_.size();
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<TreeEnsembleClassifierKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const auto shape = ml::tree_input(ctx, forest_);
    const int64_t rows = shape.first, cols = shape.second;
    Tensor* y = ctx.needs_output(0) ? &ctx.allocate(0, labels_.dtype(), {rows}) : nullptr;
    Tensor* z = ctx.needs_output(1) ? &ctx.allocate(1, DType::Float32, {rows, cols_}) : nullptr;
    visit_tree_input(ctx, [&](auto tag) {
      using T = decltype(tag);
      const T* x = ctx.input(0).data<T>();
      ctx.pool().parallel_for(rows, ml::tree_grain(forest_), [&](int64_t lo, int64_t hi) {
        const int64_t nc = labels_.size();
        std::vector<float> acc(static_cast<size_t>(nc));
        std::vector<double> s(static_cast<size_t>(cols_));
        for (int64_t r = lo; r < hi; ++r) {
          for (int64_t c = 0; c < nc; ++c)
            acc[c] = base_.empty() ? 0.0f : static_cast<float>(base_[base_.size() == 1 ? 0 : c]);
          forest_.gather(x + r * cols, ml::Aggregate::Sum, 1.0, acc.data());
          std::copy(acc.begin(), acc.end(), s.begin());
          if (binary_) {
            double v = acc[binary_class_];
            s[1] = v;
            s[0] =
                post_ == ml::PostTransform::None || post_ == ml::PostTransform::Probit ? 1 - v : -v;
          }
          ml::apply(post_, s.data(), cols_);
          if (z) {
            for (int64_t c = 0; c < cols_; ++c)
              z->data<float>()[r * cols_ + c] = static_cast<float>(s[c]);
          }
          if (!y) continue;
          int64_t best = ml::argmax(s.data(), cols_);
          if (nc == 1) {  // one label: it for the second column, else none
            if (best == 1) {
              labels_.put_index(*y, r, 0);
            } else {
              labels_.put_none(*y, r);
            }
          } else {
            labels_.put_index(*y, r, best);
          }
        }
      });
    });
  }

 private:
  ml::ClassLabels labels_;
  ml::PostTransform post_;
  std::vector<double> base_;
  ml::Forest forest_;
  bool binary_ = false;
  int32_t binary_class_ = 0;
  int64_t cols_ = 0;
};

// The spec deprecates both at ML opset 5 (TreeEnsemble replaces them); onyx keeps running
// them there, where nothing else could be meant.
constexpr KernelDef kDefs[] = {
    {"ai.onnx.ml", "TreeEnsembleClassifier", 1, 2, &TreeEnsembleClassifierKernel::make},
    {"ai.onnx.ml", "TreeEnsembleClassifier", 3, kLatest, &TreeEnsembleClassifierKernel::make},
    {"ai.onnx.ml", "TreeEnsembleRegressor", 1, 2, &TreeEnsembleRegressorKernel::make},
    {"ai.onnx.ml", "TreeEnsembleRegressor", 3, kLatest, &TreeEnsembleRegressorKernel::make},
};

}  // namespace

void register_ml_tree_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
