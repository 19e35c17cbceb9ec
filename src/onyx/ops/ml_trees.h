// The tree-walking core shared by TreeEnsembleClassifier, TreeEnsembleRegressor and
// TreeEnsemble: every tree of a model in one flat node array whose interior nodes name
// their children by index, built once when the kernel is made, so that a prediction is a
// few loads and one comparison per level, with no look-ups.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "onyx/ops/kernel.h"

namespace onyx::ops::ml {

// TreeEnsemble-5's numbering of the comparisons, plus the leaf marker.
enum TreeMode : uint8_t {
  kLeq = 0,
  kLt = 1,
  kGte = 2,
  kGt = 3,
  kEq = 4,
  kNeq = 5,
  kMember = 6,
  kLeaf = 7,
};

struct TreeNode {
  double value = 0;  // the split threshold
  int32_t feature = 0;
  uint8_t mode = kLeaf;
  bool nan_true = false;  // a NaN feature takes the true branch
  int32_t set = -1;       // kMember: index into Forest::sets
  // Interior node: the children's indices (true, false). Leaf: its votes, [first, last).
  int32_t first = 0, second = 0;
};

struct Vote {
  int32_t target = 0;
  double weight = 0;
};

enum class Aggregate { Average = 0, Sum = 1, Min = 2, Max = 3 };  // TreeEnsemble-5's numbers

struct Forest {
  std::vector<TreeNode> nodes;
  std::vector<Vote> votes;
  std::vector<int32_t> roots;
  std::vector<std::vector<double>> sets;  // sorted members of each kMember node
  int64_t n_features = 0;                 // 1 + the largest feature id an interior node reads
  int64_t n_targets = 0;

  // Checks child indices, vote ranges, targets, feature ids and that no walk can loop;
  // sets n_features.
  void validate(const KernelInfo& info) {
    const int64_t n = static_cast<int64_t>(nodes.size());
    auto bad = [&](auto&&... what) { info.fail(ErrorKind::InvalidModel, what...); };
    for (int64_t i = 0; i < n; ++i) {
      const TreeNode& t = nodes[i];
      if (t.mode == kLeaf) {
        if (t.first < 0 || t.first > t.second || t.second > static_cast<int64_t>(votes.size()))
          bad("leaf ", i, " has a bad vote range");
        continue;
      }
      if (t.mode > kMember) bad("node ", i, " has an unknown mode ", int{t.mode});
      if (t.first < 0 || t.first >= n || t.second < 0 || t.second >= n)
        bad("node ", i, " has a child out of range");
      if (t.feature < 0) bad("node ", i, " has a negative feature id");
      if (t.mode == kMember && (t.set < 0 || t.set >= static_cast<int64_t>(sets.size())))
        bad("node ", i, " has no membership set");
      n_features = std::max<int64_t>(n_features, t.feature + 1);
    }
    for (const Vote& v : votes) {
      if (v.target < 0 || v.target >= n_targets)
        bad("a leaf votes for target/class ", v.target, ", outside [0, ", n_targets, ")");
    }
    // Depth-first from every root: reaching a node that is still on the path is a loop.
    std::vector<uint8_t> state(static_cast<size_t>(n), 0);  // 0 new, 1 on the path, 2 done
    std::vector<std::pair<int32_t, int>> stack;
    for (int32_t r : roots) {
      if (r < 0 || r >= n) bad("tree root ", r, " is out of range");
      if (state[r]) continue;
      state[r] = 1;
      stack.push_back({r, 0});
      while (!stack.empty()) {
        auto [i, done] = stack.back();
        const TreeNode& t = nodes[i];
        if (t.mode == kLeaf || done == 2) {
          state[i] = 2;
          stack.pop_back();
          continue;
        }
        stack.back().second = done + 1;
        int32_t c = done == 0 ? t.first : t.second;
        if (state[c] == 1) bad("the trees loop back through node ", c);
        if (state[c] == 0) {
          state[c] = 1;
          stack.push_back({c, 0});
        }
      }
    }
  }

  // The leaf that row x (n_features values at least) reaches from node i.
  template <typename T>
  const TreeNode& leaf(int32_t i, const T* x) const {
    const TreeNode* t = &nodes[i];
    while (t->mode != kLeaf) {
      double v = to_double(x[t->feature]);
      bool go;
      if (std::isnan(v)) {
        go = t->nan_true;
      } else {
        switch (t->mode) {
          case kLeq:
            go = v <= t->value;
            break;
          case kLt:
            go = v < t->value;
            break;
          case kGte:
            go = v >= t->value;
            break;
          case kGt:
            go = v > t->value;
            break;
          case kEq:
            go = v == t->value;
            break;
          case kNeq:
            go = v != t->value;
            break;
          default:
            go = std::binary_search(sets[t->set].begin(), sets[t->set].end(), v);
            break;
        }
      }
      t = &nodes[go ? t->first : t->second];
    }
    return *t;
  }

  // Folds every vote row x reaches into acc[n_targets] (A: the accumulator type). Sum adds
  // in double and rounds to A after each vote, as the reference's A-typed `+=` does;
  // Average adds weight / divisor; Min and Max need acc preset to the type's extremes.
  template <typename A, typename T>
  void gather(const T* x, Aggregate agg, double divisor, A* acc) const {
    for (int32_t r : roots) {
      const TreeNode& l = leaf(r, x);
      for (int32_t k = l.first; k < l.second; ++k) {
        const Vote& v = votes[k];
        A& a = acc[v.target];
        switch (agg) {
          case Aggregate::Sum:
            a = static_cast<A>(static_cast<double>(a) + v.weight);
            break;
          case Aggregate::Average:
            a = static_cast<A>(static_cast<double>(a) + v.weight / divisor);
            break;
          case Aggregate::Min:
            a = std::min(a, static_cast<A>(v.weight));
            break;
          case Aggregate::Max:
            a = std::max(a, static_cast<A>(v.weight));
            break;
        }
      }
    }
  }
};

// Rows per parallel chunk: enough trees' walks per chunk to outweigh the hand-off.
inline int64_t tree_grain(const Forest& f) {
  return std::max<int64_t>(1, 2048 / std::max<int64_t>(1, static_cast<int64_t>(f.roots.size())));
}

// X of a tree ensemble as [rows, features] ([F] is one row), checked against the model.
inline std::pair<int64_t, int64_t> tree_input(const KernelContext& ctx, const Forest& f) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 1 && x.rank() != 2) {
    ctx.fail(ctx.input_name(0), " must have shape [N, F], got ", shape_str(x.shape()));
  }
  int64_t rows = x.rank() == 2 ? x.dim(0) : 1, cols = x.dim(x.rank() - 1);
  if (cols < f.n_features && rows > 0) {
    ctx.fail(ctx.input_name(0), " ", shape_str(x.shape()), " has ", cols,
             " features but the trees read feature ", f.n_features - 1);
  }
  return {rows, cols};
}

}  // namespace onyx::ops::ml
