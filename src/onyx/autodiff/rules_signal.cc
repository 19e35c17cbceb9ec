// Gradient rule for DFT. The transform is linear: for Y = F X (F_kn = e^(-2 pi i kn/n)) the
// gradient is F^H dY = n IDFT(dY), and for the inverse transform Y = F^H X / n it is
// DFT(dY) / n. A onesided output is the first n/2+1 bins, so its adjoint pads dY with
// zeros first; a real input takes the real part; a dft_length that padded or truncated
// the signal is undone by truncating or padding the gradient.
#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

// `v` with axis `axis` cut to `to` (shorter) or zero-padded to it (longer) at the end.
std::string fit_length(GradContext& g, const std::string& v, int64_t axis, int64_t from, int64_t to,
                       int64_t rank) {
  if (from == to) return v;
  if (from > to) return g.op("Slice", {v, g.ints({0}), g.ints({to}), g.ints({axis})});
  std::vector<int64_t> pads(2 * static_cast<size_t>(rank), 0);
  pads[static_cast<size_t>(rank + axis)] = to - from;
  return g.op("Pad", {v, g.ints(pads)});
}

void dft_rule(GradContext& g) {
  const ir::Node& node = g.node();
  auto dims = g.dims(g.x(0));
  if (!dims || dims->size() < 2) g.fail("the input's rank must be known");
  int64_t rank = static_cast<int64_t>(dims->size());
  int64_t axis = node.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank - 1 || (*dims)[static_cast<size_t>(axis)] < 0 || dims->back() < 0) {
    g.fail("the signal axis and the last dimension must be known statically");
  }
  int64_t len = (*dims)[static_cast<size_t>(axis)], n = len;
  if (g.has_x(1)) {
    auto t = g.constant_value(g.x(1));
    if (!t) g.fail("dft_length must be a constant");
    n = t->to_int64s().at(0);
  }
  bool inverse = node.attr_int("inverse", 0) != 0, onesided = node.attr_int("onesided", 0) != 0;
  int64_t bins = onesided ? n / 2 + 1 : n;
  std::string d = fit_length(g, g.dy(0), axis, bins, n, rank);
  d = g.op("DFT", {d}, {attr("axis", axis), attr("inverse", int64_t{!inverse})});
  double scale = inverse ? 1.0 / static_cast<double>(n) : static_cast<double>(n);
  d = g.mul(d, g.scalar(scale, g.x(0)));
  d = fit_length(g, d, axis, n, len, rank);
  if (dims->back() == 1) {  // a real signal: the real part
    d = g.op("Slice", {d, g.ints({0}), g.ints({1}), g.ints({rank - 1})});
  }
  g.set_dx(0, d);
}

constexpr GradDef kDefs[] = {
    {"", "DFT", 17, kLatestOpset, dft_rule},
};

}  // namespace

std::span<const GradDef> signal_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
