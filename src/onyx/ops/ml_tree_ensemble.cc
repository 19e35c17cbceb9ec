// ai.onnx.ml TreeEnsemble (ML opset 5): interior nodes (nodes_*) branch to other nodes or
// to leaves (leaf_*: one target and weight each) by index; nodes_modes is a uint8 tensor,
// BRANCH_MEMBER tests set membership (membership_values: the sets of the member nodes in
// node order, each closed by a NaN). Y has X's type, [N, n_targets], aggregated by SUM,
// AVERAGE (each weight divided by the tree count), MIN or MAX, then post_transform.
//
// A NaN feature takes the true branch when nodes_missing_value_tracks_true says so, and
// also at BRANCH_NEQ, where NaN != split holds (the reference's comparison). A root whose
// two branches name the same leaf is a one-leaf tree, with no special case needed.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "onyx/ops/ml_attrs.h"
#include "onyx/ops/ml_transform.h"
#include "onyx/ops/ml_trees.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

ml::Forest forest_v5(const KernelInfo& info) {
  std::vector<int64_t> features = ml::ints(info, "nodes_featureids");
  std::vector<int64_t> true_ids = ml::ints(info, "nodes_truenodeids");
  std::vector<int64_t> true_leaf = ml::ints(info, "nodes_trueleafs");
  std::vector<int64_t> false_ids = ml::ints(info, "nodes_falsenodeids");
  std::vector<int64_t> false_leaf = ml::ints(info, "nodes_falseleafs");
  std::vector<int64_t> missing = ml::ints(info, "nodes_missing_value_tracks_true");
  std::vector<int64_t> targets = ml::ints(info, "leaf_targetids");
  std::vector<int64_t> roots = ml::ints(info, "tree_roots");
  const Tensor* modes_t = ml::tensor(info, "nodes_modes");
  const Tensor* splits_t = ml::tensor(info, "nodes_splits");
  const Tensor* weights_t = ml::tensor(info, "leaf_weights");
  if (!modes_t || !splits_t || !weights_t) {
    info.fail(ErrorKind::InvalidModel, "nodes_modes, nodes_splits and leaf_weights are required");
  }
  if (!is_integer(modes_t->dtype())) {
    info.fail(ErrorKind::InvalidModel, "nodes_modes must be a uint8 tensor, not ",
              dtype_name(modes_t->dtype()));
  }
  std::vector<int64_t> modes = modes_t->to_int64s();
  std::vector<double> splits = ml::tensor_doubles(info, "nodes_splits", *splits_t);
  std::vector<double> weights = ml::tensor_doubles(info, "leaf_weights", *weights_t);
  const size_t n = features.size(), leaves = targets.size();
  if (n == 0 || roots.empty()) info.fail(ErrorKind::InvalidModel, "the model has no trees");
  if (n + leaves > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2))
    info.fail(ErrorKind::ResourceLimit, "too many tree nodes: ", n + leaves);
  const char* why = "one per node";
  ml::check_size(info, "nodes_modes", modes.size(), n, why);
  ml::check_size(info, "nodes_splits", splits.size(), n, why);
  ml::check_size(info, "nodes_truenodeids", true_ids.size(), n, why);
  ml::check_size(info, "nodes_trueleafs", true_leaf.size(), n, why);
  ml::check_size(info, "nodes_falsenodeids", false_ids.size(), n, why);
  ml::check_size(info, "nodes_falseleafs", false_leaf.size(), n, why);
  if (!missing.empty())
    ml::check_size(info, "nodes_missing_value_tracks_true", missing.size(), n, why);
  ml::check_size(info, "leaf_weights", weights.size(), leaves, "one per leaf_targetids");

  std::vector<double> members;
  if (const Tensor* m = ml::tensor(info, "membership_values"))
    members = ml::tensor_doubles(info, "membership_values", *m);
  // One NaN-terminated set per BRANCH_MEMBER node (so the parse below stays in range).
  size_t member_nodes = static_cast<size_t>(std::count(modes.begin(), modes.end(), ml::kMember));
  size_t sets = static_cast<size_t>(
      std::count_if(members.begin(), members.end(), [](double v) { return std::isnan(v); }));
  if (sets != member_nodes || (!members.empty() && !std::isnan(members.back()))) {
    info.fail(ErrorKind::InvalidModel, "membership_values holds ", sets,
              " NaN-terminated sets for ", member_nodes, " BRANCH_MEMBER nodes");
  }
  size_t next_member = 0;

  ml::Forest f;
  f.n_targets = info.node.attr_int("n_targets", 0);
  if (f.n_targets <= 0) info.fail(ErrorKind::InvalidModel, "n_targets must be positive");
  // Nodes first, then one leaf node per leaf_* entry, voting for its target.
  f.nodes.resize(n + leaves);
  auto child = [&](int64_t id, int64_t is_leaf, size_t i) {
    int64_t limit = static_cast<int64_t>(is_leaf ? leaves : n);
    if (id < 0 || id >= limit)
      info.fail(ErrorKind::InvalidModel, "node ", i, " branches to ", is_leaf ? "leaf " : "node ",
                id, ", out of range");
    return static_cast<int32_t>(is_leaf ? static_cast<int64_t>(n) + id : id);
  };
  for (size_t i = 0; i < n; ++i) {
    ml::TreeNode& t = f.nodes[i];
    if (modes[i] < ml::kLeq || modes[i] > ml::kMember)
      info.fail(ErrorKind::InvalidModel, "node ", i, " has unknown mode ", modes[i]);
    t.mode = static_cast<uint8_t>(modes[i]);
    t.feature = static_cast<int32_t>(std::clamp<int64_t>(features[i], -1, INT32_MAX));
    t.value = splits[i];
    t.nan_true = (!missing.empty() && missing[i] != 0) || t.mode == ml::kNeq;
    t.first = child(true_ids[i], true_leaf[i], i);
    t.second = child(false_ids[i], false_leaf[i], i);
    if (t.mode != ml::kMember) continue;
    std::vector<double> set;
    while (!std::isnan(members[next_member])) set.push_back(members[next_member++]);
    ++next_member;  // the NaN that closes the set
    std::sort(set.begin(), set.end());
    t.set = static_cast<int32_t>(f.sets.size());
    f.sets.push_back(std::move(set));
  }
  for (size_t j = 0; j < leaves; ++j) {
    ml::TreeNode& t = f.nodes[n + j];
    t.first = static_cast<int32_t>(j);
    t.second = static_cast<int32_t>(j + 1);
    f.votes.push_back(
        {static_cast<int32_t>(std::clamp<int64_t>(targets[j], -1, INT32_MAX)), weights[j]});
  }
  for (int64_t r : roots) {
    if (r < 0 || r >= static_cast<int64_t>(n))
      info.fail(ErrorKind::InvalidModel, "tree root ", r, " is out of range");
    f.roots.push_back(static_cast<int32_t>(r));
  }
  f.validate(info);
  return f;
}

// The largest finite value of T (the MIN/MAX start, as numpy's finfo(T).max).
template <typename T>
double largest() {
  if constexpr (std::is_same_v<T, Float16>) {
    return 65504.0;
  } else {
    return static_cast<double>(std::numeric_limits<T>::max());
  }
}

class TreeEnsembleKernel final : public Kernel {
 public:
  explicit TreeEnsembleKernel(const KernelInfo& info)
      : forest_(forest_v5(info)), post_(ml::post_transform_numbered(info)) {
    int64_t agg = info.node.attr_int("aggregate_function", 1);
    if (agg < 0 || agg > 3) info.fail(ErrorKind::InvalidModel, "aggregate_function must be 0 to 3");
    agg_ = static_cast<ml::Aggregate>(agg);
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<TreeEnsembleKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 && x.dtype() != DType::Float64 && x.dtype() != DType::Float16)
      ctx.fail(ctx.input_name(0), " must be float, double or float16, not ", dtype_name(x.dtype()));
    const auto shape = ml::tree_input(ctx, forest_);
    const int64_t rows = shape.first, cols = shape.second;
    const int64_t nt = forest_.n_targets;
    Tensor& y = ctx.allocate(0, x.dtype(), {rows, nt});
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using A = compute_t<T>;
      const T* in = x.data<T>();
      T* out = y.data<T>();
      const double big = largest<T>();
      const A start = agg_ == ml::Aggregate::Min   ? static_cast<A>(big)
                      : agg_ == ml::Aggregate::Max ? static_cast<A>(-big)
                                                   : A(0);
      const double trees = static_cast<double>(forest_.roots.size());
      ctx.pool().parallel_for(rows, ml::tree_grain(forest_), [&](int64_t lo, int64_t hi) {
        std::vector<A> acc(static_cast<size_t>(nt));
        std::vector<double> s(static_cast<size_t>(nt));
        for (int64_t r = lo; r < hi; ++r) {
          std::fill(acc.begin(), acc.end(), start);
          forest_.gather(in + r * cols, agg_, trees, acc.data());
          std::copy(acc.begin(), acc.end(), s.begin());
          ml::apply(post_, s.data(), nt);
          for (int64_t t = 0; t < nt; ++t) out[r * nt + t] = from_double<T>(s[t]);
        }
      });
    });
  }

 private:
  ml::Forest forest_;
  ml::PostTransform post_;
  ml::Aggregate agg_ = ml::Aggregate::Sum;
};

constexpr KernelDef kDefs[] = {
    {"ai.onnx.ml", "TreeEnsemble", 5, kLatest, &TreeEnsembleKernel::make},
};

}  // namespace

void register_ml_tree_ensemble_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
