// Einsum, Det and Unique.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "onyx/ops/registry.h"
#include "onyx/ops/strided.h"

namespace onyx::ops {

namespace {

// Einsum: the equation is parsed once; each call walks every combination of output and
// summed labels. Labels are letters; ellipsis dims get ids 256+ (right-aligned).
class EinsumKernel final : public Kernel {
 public:
  explicit EinsumKernel(const KernelInfo& info) {
    std::string eq;
    for (char c : info.node.attr_string("equation", "")) {
      if (c != ' ') eq += c;
    }
    size_t arrow = eq.find("->");
    explicit_ = arrow != std::string::npos;
    std::string lhs = eq.substr(0, arrow);
    rhs_ = explicit_ ? eq.substr(arrow + 2) : "";
    size_t start = 0;
    while (true) {
      size_t comma = lhs.find(',', start);
      terms_.push_back(
          lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    for (const auto& t : terms_) check_term(info, t);
    if (explicit_) check_term(info, rhs_);
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<EinsumKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    if (ctx.num_inputs() != terms_.size()) {
      ctx.fail("equation has ", terms_.size(), " operands, the node has ", ctx.num_inputs(),
               " inputs");
    }
    // Labels of each input's dims, with ellipsis dims numbered from the right.
    std::vector<std::vector<int>> labels(terms_.size());
    int64_t ell_rank = 0;
    for (size_t i = 0; i < terms_.size(); ++i) {
      const Tensor& t = ctx.input(i);
      int64_t letters = static_cast<int64_t>(terms_[i].size()) - (has_ellipsis(terms_[i]) ? 3 : 0);
      int64_t ell = t.rank() - letters;
      if (ell < 0 || (ell > 0 && !has_ellipsis(terms_[i]))) {
        ctx.fail("operand ", i, " of shape ", shape_str(t.shape()), " does not match '", terms_[i],
                 "'");
      }
      ell_rank = std::max(ell_rank, ell);
      for (size_t k = 0; k < terms_[i].size(); ++k) {
        if (terms_[i][k] == '.') {
          for (int64_t e = 0; e < ell; ++e)
            labels[i].push_back(256 + static_cast<int>(ell - 1 - e));
          k += 2;
        } else {
          labels[i].push_back(static_cast<unsigned char>(terms_[i][k]));
        }
      }
    }
    std::map<int, int64_t> size;
    for (size_t i = 0; i < terms_.size(); ++i) {
      const Tensor& t = ctx.input(i);
      if (t.dtype() != ctx.input(0).dtype()) ctx.fail("operands must share an element type");
      for (int64_t d = 0; d < t.rank(); ++d) {
        int l = labels[i][d];
        auto it = size.find(l);
        if (it == size.end() || it->second == 1) {
          size[l] = t.dim(d);
        } else if (t.dim(d) != it->second && !(l >= 256 && t.dim(d) == 1)) {
          ctx.fail("label '", l < 256 ? std::string(1, static_cast<char>(l)) : std::string("..."),
                   "' has sizes ", it->second, " and ", t.dim(d));
        }
      }
    }
    std::vector<int> out_labels;
    if (explicit_) {
      for (size_t k = 0; k < rhs_.size(); ++k) {
        if (rhs_[k] == '.') {
          for (int64_t e = ell_rank; e-- > 0;) out_labels.push_back(256 + static_cast<int>(e));
          k += 2;
        } else {
          if (!size.count(static_cast<unsigned char>(rhs_[k])))
            ctx.fail("output label '", rhs_[k], "' is not in any input");
          out_labels.push_back(static_cast<unsigned char>(rhs_[k]));
        }
      }
    } else {
      for (int64_t e = ell_rank; e-- > 0;) out_labels.push_back(256 + static_cast<int>(e));
      std::map<int, int> count;
      for (const auto& ls : labels) {
        for (int l : ls) {
          if (l < 256) ++count[l];
        }
      }
      for (const auto& [l, c] : count) {
        if (c == 1) out_labels.push_back(l);
      }
    }
    std::vector<int> all = out_labels;
    for (const auto& [l, s] : size) {
      if (std::find(all.begin(), all.end(), l) == all.end()) all.push_back(l);
    }
    Shape out_shape;
    for (int l : out_labels) out_shape.push_back(size[l]);
    // Per input, the stride each label contributes (summed over repeated labels: diagonals).
    std::vector<std::vector<int64_t>> stride(terms_.size(), std::vector<int64_t>(all.size(), 0));
    for (size_t i = 0; i < terms_.size(); ++i) {
      auto st = shape_strides(ctx.input(i).shape());
      for (int64_t d = 0; d < ctx.input(i).rank(); ++d) {
        if (ctx.input(i).dim(d) == 1 && size[labels[i][d]] != 1) continue;  // broadcast
        size_t pos = std::find(all.begin(), all.end(), labels[i][d]) - all.begin();
        stride[i][pos] += st[d];
      }
    }
    Tensor& y = ctx.allocate(0, ctx.input(0).dtype(), out_shape);
    size_t n_out = out_labels.size();
    std::vector<int64_t> dims;
    for (int l : all) dims.push_back(size[l]);
    visit_numeric(y.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double, compute_t<T>>;
      if constexpr (std::is_same_v<T, bool>) {
        ctx.fail("Einsum does not take bool");
      } else {
        T* out = y.data<T>();
        std::fill_n(out, y.numel(), T(0));
        int64_t total = 1;
        for (int64_t d : dims) total *= d;
        std::vector<int64_t> idx(all.size(), 0);
        std::vector<C> acc_out(static_cast<size_t>(y.numel()), C(0));
        for (int64_t k = 0; k < total; ++k) {
          C prod = C(1);
          for (size_t i = 0; i < terms_.size(); ++i) {
            int64_t off = 0;
            for (size_t a = 0; a < all.size(); ++a) off += idx[a] * stride[i][a];
            prod = prod * static_cast<C>(static_cast<compute_t<T>>(ctx.input(i).data<T>()[off]));
          }
          int64_t o = 0;
          for (size_t a = 0; a < n_out; ++a) o = o * dims[a] + idx[a];
          acc_out[o] += prod;
          for (size_t a = all.size(); a-- > 0;) {
            if (++idx[a] < dims[a]) break;
            idx[a] = 0;
          }
        }
        for (int64_t o = 0; o < y.numel(); ++o)
          out[o] = static_cast<T>(static_cast<compute_t<T>>(acc_out[o]));
      }
    });
  }

 private:
  static bool has_ellipsis(const std::string& t) { return t.find("...") != std::string::npos; }
  static void check_term(const KernelInfo& info, const std::string& t) {
    for (size_t k = 0; k < t.size(); ++k) {
      if (t.compare(k, 3, "...") == 0) {
        k += 2;
        continue;
      }
      if (!std::isalpha(static_cast<unsigned char>(t[k]))) {
        info.fail(ErrorKind::InvalidModel, "equation term '", t, "' has an invalid character '",
                  t[k], "'");
      }
    }
  }

  std::vector<std::string> terms_;
  std::string rhs_;
  bool explicit_ = false;
};

void det(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2)) {
    ctx.fail(ctx.input_name(0), " must be [..., M, M], got ", shape_str(x.shape()));
  }
  int64_t m = x.dim(x.rank() - 1), mats = m ? x.numel() / (m * m) : 0;
  Tensor& y = ctx.allocate(0, x.dtype(), Shape(x.shape().begin(), x.shape().end() - 2));
  visit_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<double> a(static_cast<size_t>(m * m));
    for (int64_t k = 0; k < mats; ++k) {
      for (int64_t i = 0; i < m * m; ++i) a[i] = to_double(x.data<T>()[k * m * m + i]);
      double d = 1;
      for (int64_t c = 0; c < m; ++c) {  // LU with partial pivoting
        int64_t p = c;
        for (int64_t r = c + 1; r < m; ++r) {
          if (std::abs(a[r * m + c]) > std::abs(a[p * m + c])) p = r;
        }
        if (a[p * m + c] == 0) {
          d = 0;
          break;
        }
        if (p != c) {
          for (int64_t j = 0; j < m; ++j) std::swap(a[c * m + j], a[p * m + j]);
          d = -d;
        }
        d *= a[c * m + c];
        for (int64_t r = c + 1; r < m; ++r) {
          double f = a[r * m + c] / a[c * m + c];
          for (int64_t j = c; j < m; ++j) a[r * m + j] -= f * a[c * m + j];
        }
      }
      y.data<T>()[k] = from_double<T>(d);
    }
  });
}

class UniqueKernel final : public Kernel {
 public:
  explicit UniqueKernel(const KernelInfo& info)
      : sorted_(info.node.attr_int("sorted", 1) != 0),
        has_axis_(info.node.has_attr("axis")),
        axis_(info.node.attr_int("axis", 0)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<UniqueKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    Tensor x = ctx.input(0);
    if (!has_axis_) x = x.reshape({x.numel()});
    int64_t axis = normalize_axis(has_axis_ ? axis_ : 0, x.rank());
    int64_t outer = 1, n = x.dim(axis), inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    auto body = [&](auto tag) {
      using T = decltype(tag);
      const T* p = x.data<T>();
      // Slice j along the axis, as a vector of its elements.
      auto slice = [&](int64_t j) {
        std::vector<T> s;
        for (int64_t o = 0; o < outer; ++o) {
          for (int64_t i = 0; i < inner; ++i) s.push_back(p[(o * n + j) * inner + i]);
        }
        return s;
      };
      std::vector<std::vector<T>> slices;
      for (int64_t j = 0; j < n; ++j) slices.push_back(slice(j));
      std::vector<int64_t> first;  // index of the first occurrence of each unique slice
      std::vector<int64_t> which(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) {
        int64_t found = -1;
        for (size_t u = 0; u < first.size(); ++u) {
          if (slices[first[u]] == slices[j]) {
            found = static_cast<int64_t>(u);
            break;
          }
        }
        if (found < 0) {
          found = static_cast<int64_t>(first.size());
          first.push_back(j);
        }
        which[j] = found;
      }
      std::vector<int64_t> order(first.size());
      std::iota(order.begin(), order.end(), 0);
      if (sorted_) {
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return slices[first[a]] < slices[first[b]]; });
      }
      std::vector<int64_t> rank_of(first.size());
      for (size_t r = 0; r < order.size(); ++r) rank_of[order[r]] = static_cast<int64_t>(r);
      int64_t u = static_cast<int64_t>(first.size());
      Shape ys = x.shape();
      ys[axis] = u;
      Tensor& y = ctx.allocate(0, x.dtype(), ys);
      for (int64_t r = 0; r < u; ++r) {
        const auto& s = slices[first[order[r]]];
        for (int64_t o = 0; o < outer; ++o) {
          for (int64_t i = 0; i < inner; ++i)
            y.data<T>()[(o * u + r) * inner + i] = s[o * inner + i];
        }
      }
      if (ctx.needs_output(1)) {
        Tensor& t = ctx.allocate(1, DType::Int64, {u});
        for (int64_t r = 0; r < u; ++r) t.data<int64_t>()[r] = first[order[r]];
      }
      if (ctx.needs_output(2)) {
        Tensor& t = ctx.allocate(2, DType::Int64, {n});
        for (int64_t j = 0; j < n; ++j) t.data<int64_t>()[j] = rank_of[which[j]];
      }
      if (ctx.needs_output(3)) {
        Tensor& t = ctx.allocate(3, DType::Int64, {u});
        std::fill_n(t.data<int64_t>(), u, 0);
        for (int64_t j = 0; j < n; ++j) ++t.data<int64_t>()[rank_of[which[j]]];
      }
    };
    if (x.dtype() == DType::String)
      body(std::string{});
    else
      visit_numeric(x.dtype(), body);
  }

 private:
  bool sorted_, has_axis_;
  int64_t axis_;
};

constexpr KernelDef kDefs[] = {
    {"", "Einsum", 12, kLatest, &EinsumKernel::make},
    {"", "Det", 11, kLatest, &FnKernel<det>::make},
    {"", "Unique", 11, kLatest, &UniqueKernel::make},
};

}  // namespace

void register_linalg_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
