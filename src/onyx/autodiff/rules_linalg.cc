// Gradient rules for MatMul, Gemm, Einsum and Det.
#include <algorithm>
#include <map>
#include <set>

#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

// MatMul with NumPy semantics: 1-D operands are promoted (A to [1,K], B to [K,1]) and the
// promoted axis dropped from Y; batch axes broadcast, so gradients are summed back.
void matmul_rule(GradContext& g) {
  std::string a = g.x(0), b = g.x(1), dy = g.dy(0);
  auto ra = g.rank(a), rb = g.rank(b);
  if (!ra || !rb) g.fail("the ranks of both inputs must be known");
  if (*ra == 1 && *rb == 1) {  // dot product
    if (g.needs(0)) g.set_dx(0, g.mul(dy, b));
    if (g.needs(1)) g.set_dx(1, g.mul(dy, a));
    return;
  }
  // Batch dimensions of Y, then the full (unreduced) gradient's dimensions.
  auto ydims = g.dims(g.y(0));
  std::optional<std::vector<int64_t>> batch;
  if (ydims) {
    size_t keep = ydims->size() - (*ra == 1 || *rb == 1 ? 1 : 2);
    batch = std::vector<int64_t>(ydims->begin(), ydims->begin() + static_cast<long>(keep));
  }
  auto with = [&](const std::string& v) -> std::optional<std::vector<int64_t>> {
    auto d = g.dims(v);
    if (!batch || !d) return std::nullopt;
    std::vector<int64_t> r = *batch;
    r.push_back(d->back());
    if (d->size() >= 2) r.insert(r.end() - 1, (*d)[d->size() - 2]);
    return r;
  };
  if (*ra == 1) {                             // y = a @ B: [..., N]
    std::string dy2 = g.unsqueeze(dy, {-2});  // [..., 1, N]
    if (g.needs(0)) {
      std::string full = g.squeeze(g.op("MatMul", {dy2, g.transpose_last2(b)}), {-2});
      g.set_dx(0, g.reduce_to(full, with(a), a));
    }
    if (g.needs(1)) {
      std::string full = g.op("MatMul", {g.unsqueeze(a, {1}), dy2});  // [K,1] @ [...,1,N]
      g.set_dx(1, g.reduce_to(full, with(b), b));
    }
    return;
  }
  if (*rb == 1) {                             // y = A @ b: [..., M]
    std::string dy2 = g.unsqueeze(dy, {-1});  // [..., M, 1]
    if (g.needs(0)) {
      std::string full = g.op("MatMul", {dy2, g.unsqueeze(b, {0})});  // [...,M,1] @ [1,K]
      g.set_dx(0, g.reduce_to(full, with(a), a));
    }
    if (g.needs(1)) {
      std::string full = g.squeeze(g.op("MatMul", {g.transpose_last2(a), dy2}), {-1});
      g.set_dx(1, g.reduce_to(full, with(b), b));
    }
    return;
  }
  if (g.needs(0)) {
    g.set_dx(0, g.reduce_to(g.op("MatMul", {dy, g.transpose_last2(b)}), with(a), a));
  }
  if (g.needs(1)) {
    g.set_dx(1, g.reduce_to(g.op("MatMul", {g.transpose_last2(a), dy}), with(b), b));
  }
}

// Gemm: Y = alpha op(A) op(B) + beta C, op() transposing per transA/transB.
void gemm_rule(GradContext& g) {
  const ir::Node& n = g.node();
  float alpha = n.attr_float("alpha", 1.0f), beta = n.attr_float("beta", 1.0f);
  int64_t ta = n.attr_int("transA", 0), tb = n.attr_int("transB", 0);
  std::string a = g.x(0), b = g.x(1), dy = g.dy(0);
  auto gemm = [&](const std::string& p, const std::string& q, int64_t tp, int64_t tq) {
    return g.op("Gemm", {p, q}, {attr("alpha", alpha), attr("transA", tp), attr("transB", tq)});
  };
  if (g.needs(0)) g.set_dx(0, ta ? gemm(b, dy, tb, 1) : gemm(dy, b, 0, 1 - tb));
  if (g.needs(1)) g.set_dx(1, tb ? gemm(dy, a, 1, ta) : gemm(a, dy, 1 - ta, 0));
  if (g.has_x(2) && g.needs(2)) {
    std::string d = beta == 1.0f ? dy : g.mul(dy, g.scalar(beta, g.y(0)));
    g.set_dx_broadcast(2, d);
  }
}

// Labels with '.' standing for an ellipsis, spelled back out for an equation.
std::string with_ellipsis(const std::string& labels) {
  std::string r;
  for (char c : labels) r += c == '.' ? std::string("...") : std::string(1, c);
  return r;
}

// `d` holds a gradient over the labels `unique` of an operand whose labels `term` repeat
// some ('.' is its ellipsis): returns it shaped like the operand `x`, zero off the
// diagonals. Each repeated occurrence gets a fresh label tied to the first by an identity
// matrix.
std::string restore_diagonals(GradContext& g, const std::string& d, const std::string& unique,
                              const std::string& term, const std::string& equation,
                              const std::string& x) {
  std::string spread = term, operands = unique;
  std::vector<std::string> inputs{d};
  // The axis of label p: an ellipsis before it covers rank - (labels - 1) axes.
  size_t dots = term.find('.');
  int64_t covered = 0;
  if (dots != std::string::npos) {
    auto r = g.rank(x);
    if (!r) g.fail("the rank of operand '", x, "' must be known");
    covered = *r - static_cast<int64_t>(term.size() - 1);
  }
  char fresh = 'A';
  for (size_t p = 0; p < term.size(); ++p) {
    if (term.find(term[p]) == p) continue;  // a first occurrence
    while (equation.find(fresh) != std::string::npos || spread.find(fresh) != std::string::npos) {
      ++fresh;
    }
    if (fresh > 'Z') g.fail("no free subscript letter left");
    spread[p] = fresh;
    int64_t axis = static_cast<int64_t>(p) + (dots < p ? covered - 1 : 0);
    std::string n = g.op("Gather", {g.shape(x), g.ints({axis})});
    std::string square = g.op("Concat", {n, n}, {attr("axis", int64_t{0})});
    inputs.push_back(g.op("EyeLike", {g.fill(square, 0.0, x)}));
    operands += std::string(",") + term[p] + fresh;
  }
  return g.op("Einsum", inputs,
              {attr("equation", with_ellipsis(operands) + "->" + with_ellipsis(spread))});
}

// Einsum: the gradient of operand i is the einsum of the output gradient with the other
// operands, producing operand i's subscripts. Labels only operand i has (summed away in
// the forward pass) come back by broadcasting; repeated labels (diagonals) come back on
// the diagonal.
void einsum_rule(GradContext& g) {
  std::string eq = g.node().attr_string("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(
        lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  auto labels = [](const std::string& t) {  // "..." counts as one label, '.'
    std::string r;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '.') {
        r += '.';
        i += 2;
      } else {
        r += t[i];
      }
    }
    return r;
  };
  std::string out;
  if (arrow != std::string::npos) {
    out = eq.substr(arrow + 2);
  } else {  // implicit output: labels seen once, sorted, after any ellipsis
    std::map<char, int> count;
    bool ellipsis = false;
    for (const auto& t : terms) {
      for (char c : labels(t)) (c == '.' ? (void)(ellipsis = true) : (void)++count[c]);
    }
    if (ellipsis) out = "...";
    for (auto& [c, k] : count) {
      if (k == 1) out += c;
    }
  }
  for (size_t i = 0; i < terms.size(); ++i) {
    if (!g.needs(i)) continue;
    std::string mine = labels(terms[i]);
    bool repeats = std::set<char>(mine.begin(), mine.end()).size() != mine.size();
    // A repeated label (a diagonal, "ii"): the gradient is computed for the label once,
    // then put back on the diagonal by identity matrices.
    std::string unique;
    for (char c : mine) {
      if (unique.find(c) == std::string::npos) unique += c;
    }
    std::string available = labels(out);
    std::vector<std::string> inputs{g.dy(0)};
    std::string lhs_terms = out;
    for (size_t j = 0; j < terms.size(); ++j) {
      if (j == i) continue;
      lhs_terms += "," + terms[j];
      available += labels(terms[j]);
      inputs.push_back(g.x(j));
    }
    bool summed_away = false;
    for (char c : mine) summed_away |= available.find(c) == std::string::npos;
    if (summed_away) {
      // Labels only this operand has: multiply by ones of the operand's shape, which
      // brings them back as a broadcast.
      lhs_terms += "," + terms[i];
      std::string ones = g.fill(g.shape(g.x(i)), 1.0, g.x(i));
      inputs.push_back(ones);
    }
    std::string d =
        g.op("Einsum", inputs,
             {attr("equation", lhs_terms + "->" + (repeats ? with_ellipsis(unique) : terms[i]))});
    if (repeats) d = restore_diagonals(g, d, unique, mine, eq, g.x(i));
    g.set_dx(i, mine.find('.') != std::string::npos ? g.reduce_to(d, std::nullopt, g.x(i)) : d);
  }
}

// d det(X) / dX_ij is the cofactor (-1)^(i+j) det(X without row i and column j). Standard
// ONNX has no matrix inverse for the textbook det(X) X^-T, and the cofactors are right for
// singular matrices too, where that formula fails. The minors come from two Gathers that
// drop one row and one column each; their determinants are one Det over [..., n, n] of
// (n-1) x (n-1) matrices: O(n^5), meant for the small matrices Det is used on.
void det_rule(GradContext& g) {
  auto d = g.dims(g.x(0));
  if (!d || d->size() < 2 || d->back() < 1) g.fail("the matrix size must be known statically");
  int64_t n = d->back(), r = static_cast<int64_t>(d->size());
  std::string dy = g.unsqueeze(g.dy(0), {-2, -1});
  if (n == 1) {  // the minors are empty, with determinant 1: d det / dx = 1
    g.set_dx(0, g.op("Expand", {dy, g.shape(g.x(0))}));
    return;
  }
  std::vector<int64_t> others;  // row k: 0..n-1 without k
  for (int64_t k = 0; k < n; ++k) {
    for (int64_t j = 0; j < n; ++j) {
      if (j != k) others.push_back(j);
    }
  }
  std::string drop = g.constant(Tensor::from_vector<int64_t>({n, n - 1}, others));
  // [..., n, n] -> rows [..., i, n-1, n] -> columns [..., i, n-1, j, n-1].
  std::string rows = g.op("Gather", {g.x(0), drop}, {attr("axis", r - 2)});
  std::string minors = g.op("Gather", {rows, drop}, {attr("axis", r)});
  std::vector<int64_t> perm;  // to [..., i, j, n-1, n-1]
  for (int64_t k = 0; k < r - 2; ++k) perm.push_back(k);
  for (int64_t k : {r - 2, r, r - 1, r + 1}) perm.push_back(k);
  std::string cof = g.op("Det", {g.op("Transpose", {minors}, {attr("perm", perm)})});
  Tensor sign = Tensor::empty(DType::Float64, {n, n});
  for (int64_t i = 0; i < n * n; ++i) sign.data<double>()[i] = (i / n + i % n) % 2 ? -1 : 1;
  std::string s = g.as_type_of(g.constant(sign), g.x(0));
  g.set_dx(0, g.mul(dy, g.mul(cof, s)));
}

constexpr GradDef kDefs[] = {
    {"", "MatMul", 1, kLatestOpset, matmul_rule},
    {"", "Gemm", 7, kLatestOpset, gemm_rule},
    {"", "Einsum", 12, kLatestOpset, einsum_rule},
    {"", "Det", 11, kLatestOpset, det_rule},
};

}  // namespace

std::span<const GradDef> linalg_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
