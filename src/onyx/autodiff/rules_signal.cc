// Gradient rules for DFT and STFT. The transform is linear: for Y = F X (F_kn = e^(-2 pi i kn/n))
// the gradient is F^H dY = n IDFT(dY), and for the inverse transform Y = F^H X / n it is DFT(dY) /
// n. A onesided output is the first n/2+1 bins, so its adjoint pads dY with zeros first; a real
// input takes the real part; a dft_length that padded or truncated the signal is undone by
// truncating or padding the gradient.
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

// The adjoint of a DFT along `axis` of a signal of `len` samples transformed at length `n`
// into `bins` bins, applied to `dy`; `real`: the signal was real (last dimension 1).
std::string dft_adjoint(GradContext& g, const std::string& dy, int64_t axis, int64_t rank,
                        int64_t bins, int64_t n, int64_t len, bool inverse, bool real) {
  std::string d = fit_length(g, dy, axis, bins, n, rank);
  d = g.op("DFT", {d}, {attr("axis", axis), attr("inverse", int64_t{!inverse})});
  double scale = inverse ? 1.0 / static_cast<double>(n) : static_cast<double>(n);
  d = g.mul(d, g.scalar(scale, dy));
  d = fit_length(g, d, axis, n, len, rank);
  if (real) d = g.op("Slice", {d, g.ints({0}), g.ints({1}), g.ints({rank - 1})});
  return d;
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
  g.set_dx(0, dft_adjoint(g, g.dy(0), axis, rank, bins, n, len, inverse, dims->back() == 1));
}

// STFT is frames of the signal (frame f is samples f*step .. f*step+L-1), times the window,
// through a DFT along the frame axis. Backwards: the DFT's adjoint, times the window, then
// overlap-add of the frames back onto the signal, which is a ConvTranspose of the L frame
// positions (as channels) with one-hot kernels at stride `step`.
void stft_rule(GradContext& g) {
  auto dims = g.dims(g.x(0));
  auto step_v = g.has_x(1) ? g.constant_value(g.x(1)) : std::nullopt;
  if (!dims || dims->size() != 3 || (*dims)[1] < 0 || (*dims)[2] < 0 || !step_v) {
    g.fail("the signal's length and frame_step must be known statically");
  }
  int64_t step = step_v->to_int64s().at(0), samples = (*dims)[1], comps = (*dims)[2], len = -1;
  std::string window = g.has_x(2) ? g.x(2) : "";
  if (!window.empty()) {
    auto w = g.dims(window);
    if (!w || w->size() != 1 || (*w)[0] < 0) g.fail("the window's length must be known");
    len = (*w)[0];
  } else if (g.has_x(3)) {
    auto fl = g.constant_value(g.x(3));
    if (!fl) g.fail("frame_length must be a constant");
    len = fl->to_int64s().at(0);
  }
  if (len < 1 || len > samples || step < 1) g.fail("the frame length or step is invalid");
  int64_t frames = 1 + (samples - len) / step;
  int64_t bins = g.node().attr_int("onesided", 1) ? len / 2 + 1 : len;
  // [B, F, bins, 2] -> the frames' gradient [B, F, L, C].
  std::string d = dft_adjoint(g, g.dy(0), 2, 4, bins, len, len, false, comps == 1);
  std::string w4 = window.empty() ? "" : g.op("Reshape", {window, g.ints({1, 1, len, 1})});
  if (g.needs(0)) {
    std::string df = w4.empty() ? d : g.mul(d, w4);
    // [B, F, L, C] -> [B*C, L, F]: each (batch, component) a sequence of L-channel frames.
    std::string seq =
        g.op("Reshape", {g.op("Transpose", {df}, {attr("perm", std::vector<int64_t>{0, 3, 2, 1})}),
                         g.ints({-1, len, frames})});
    Tensor eye = Tensor::zeros(DType::Float64, {len, 1, len});
    for (int64_t j = 0; j < len; ++j) eye.data<double>()[j * len + j] = 1;
    std::string added = g.op("ConvTranspose", {seq, g.as_type_of(g.constant(eye), g.x(0))},
                             {attr("strides", std::vector<int64_t>{step})});  // [B*C, 1, T]
    int64_t covered = (frames - 1) * step + len;  // the samples after it are in no frame
    std::string sig = g.op("Reshape", {added, g.ints({-1, comps, covered})});
    sig = g.op("Transpose", {sig}, {attr("perm", std::vector<int64_t>{0, 2, 1})});
    if (covered < samples) sig = g.op("Pad", {sig, g.ints({0, 0, 0, 0, samples - covered, 0})});
    g.set_dx(0, sig);
  }
  if (g.needs(2) && !window.empty()) {
    std::vector<int64_t> at;
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t j = 0; j < len; ++j) at.push_back(f * step + j);
    }
    std::string idx = g.constant(Tensor::from_vector<int64_t>({frames, len}, at));
    std::string x = g.op("Gather", {g.x(0), idx}, {attr("axis", int64_t{1})});  // [B, F, L, C]
    g.set_dx(2, g.reduce_sum(g.mul(d, x), {0, 1, 3}, false));
  }
}

constexpr GradDef kDefs[] = {
    {"", "DFT", 17, kLatestOpset, dft_rule},
    {"", "STFT", 17, kLatestOpset, stft_rule},
};

}  // namespace

std::span<const GradDef> signal_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
