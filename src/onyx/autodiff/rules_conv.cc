// Gradient rules for convolution (CausalConvWithState too), pooling and Col2Im. Window
// geometry (auto_pad, ceil_mode) is resolved from static spatial sizes; the batch dimension
// may stay symbolic.
#include <algorithm>
#include <limits>
#include <numeric>

#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

constexpr int64_t kToEnd = std::numeric_limits<int64_t>::max();  // a Slice's open end

// Explicit geometry of a windowed op over n spatial dims.
struct Window {
  std::vector<int64_t> in, out, kernel, strides, dilations, pad_begin, pad_end;
  size_t n() const { return in.size(); }
  // ConvTranspose output_padding (and extra end padding where the forward windows ran
  // past the padded input, as ceil_mode allows) so that its output has size `in`.
  void transpose_fit(std::vector<int64_t>* output_padding, std::vector<int64_t>* end) const {
    output_padding->assign(n(), 0);
    *end = pad_end;
    for (size_t i = 0; i < n(); ++i) {
      int64_t covered = strides[i] * (out[i] - 1) + dilations[i] * (kernel[i] - 1) + 1;
      int64_t want = in[i] + pad_begin[i] + pad_end[i];
      if (covered <= want) {
        (*output_padding)[i] = want - covered;
      } else {
        (*end)[i] += covered - want;
      }
    }
  }
  std::vector<int64_t> pads(const std::vector<int64_t>& end) const {
    std::vector<int64_t> p = pad_begin;
    p.insert(p.end(), end.begin(), end.end());
    return p;
  }
};

std::vector<int64_t> static_spatial(GradContext& g, const std::string& v) {
  auto d = g.dims(v);
  if (!d || d->size() < 3) g.fail("the rank of '", v, "' must be known and at least 3");
  std::vector<int64_t> s(d->begin() + 2, d->end());
  for (int64_t x : s) {
    if (x < 0) g.fail("the spatial dimensions of '", v, "' must be known statically");
  }
  return s;
}

Window window(GradContext& g, const std::vector<int64_t>& kernel) {
  const ir::Node& node = g.node();
  Window w;
  w.in = static_spatial(g, g.x(0));
  w.out = static_spatial(g, g.y(0));
  size_t n = w.in.size();
  w.kernel = kernel;
  w.strides = node.attr_ints("strides", std::vector<int64_t>(n, 1));
  w.dilations = node.attr_ints("dilations", std::vector<int64_t>(n, 1));
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (w.kernel.size() != n || w.strides.size() != n || w.dilations.size() != n ||
      pads.size() != 2 * n) {
    g.fail("window attributes do not match the input's rank");
  }
  w.pad_begin.assign(pads.begin(), pads.begin() + static_cast<long>(n));
  w.pad_end.assign(pads.begin() + static_cast<long>(n), pads.end());
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      int64_t total = std::max<int64_t>(
          0, (w.out[i] - 1) * w.strides[i] + w.dilations[i] * (w.kernel[i] - 1) + 1 - w.in[i]);
      w.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pad_end[i] = total - w.pad_begin[i];
    }
  } else if (auto_pad == "VALID") {
    std::fill(w.pad_begin.begin(), w.pad_begin.end(), 0);
    std::fill(w.pad_end.begin(), w.pad_end.end(), 0);
  }
  return w;
}

std::vector<int64_t> static_weight_dims(GradContext& g) {
  auto wd = g.dims(g.x(1));
  if (!wd || std::any_of(wd->begin(), wd->end(), [](int64_t d) { return d < 0; })) {
    g.fail("the weight's shape must be known statically");
  }
  return *wd;
}

// The weight gradient of Conv(A, W) over window `win`, given dZ, the gradient of its
// output: a convolution of A with dZ in which batch and channels trade places (stride and
// dilation swap roles). `cg` is W's dimension 1, A's channels per group.
std::string conv_weight_grad(GradContext& g, const std::string& a, const std::string& dz,
                             const Window& win, int64_t group, int64_t cg) {
  size_t n = win.n();
  // A [N, G*Cg, S...] -> [Cg, G*N, S...]: each group's channels become the batch.
  std::string ar = g.op("Reshape", {a, g.ints({0, group, cg, -1})});
  ar = g.op("Transpose", {ar}, {attr("perm", std::vector<int64_t>{2, 1, 0, 3})});
  std::vector<int64_t> shape{cg, -1};
  shape.insert(shape.end(), win.in.begin(), win.in.end());
  // Spatial sizes not known statically (CausalConvWithState's length) come from A's shape.
  std::string to;
  if (std::all_of(win.in.begin(), win.in.end(), [](int64_t d) { return d >= 0; })) {
    to = g.ints(shape);
  } else {
    std::string spatial = g.op("Slice", {g.shape(a), g.ints({2}), g.ints({kToEnd})});
    to = g.op("Concat", {g.ints({cg, -1}), spatial}, {attr("axis", int64_t{0})});
  }
  ar = g.op("Reshape", {ar, to});
  std::vector<int64_t> perm = axes_range(0, static_cast<int64_t>(n) + 2);
  std::swap(perm[0], perm[1]);
  std::string dzt = g.op("Transpose", {dz}, {attr("perm", perm)});  // [M, N, O...]
  std::string c = g.op("Conv", {ar, dzt},
                       {attr("strides", win.dilations), attr("dilations", win.strides),
                        attr("pads", win.pads(win.pad_end)), attr("group", group)});
  // [Cg, M, K'...] where K' >= K: keep the first K, then swap to [M, Cg, K...].
  std::vector<int64_t> zeros(n, 0), axes = axes_range(2, static_cast<int64_t>(n) + 2);
  c = g.op("Slice", {c, g.ints(zeros), g.ints(win.kernel), g.ints(axes)});
  return g.op("Transpose", {c}, {attr("perm", perm)});
}

// The bias gradient of a convolution: dY summed over every axis but the channels.
void set_bias_grad(GradContext& g, size_t n) {
  if (!g.has_x(2) || !g.needs(2)) return;
  std::vector<int64_t> axes{0};
  for (int64_t a : axes_range(2, static_cast<int64_t>(n) + 2)) axes.push_back(a);
  g.set_dx(2, g.reduce_sum(g.dy(0), axes, false));
}

// Conv: dX is the transposed convolution of dY with W; dW as conv_weight_grad; dB sums dY.
void conv_rule(GradContext& g) {
  std::vector<int64_t> wd = static_weight_dims(g);
  int64_t group = g.node().attr_int("group", 1);
  std::vector<int64_t> kernel(wd.begin() + 2, wd.end());
  Window win = window(g, kernel);
  if (g.needs(0)) {
    std::vector<int64_t> op, end;
    win.transpose_fit(&op, &end);
    g.set_dx(0, g.op("ConvTranspose", {g.dy(0), g.x(1)},
                     {attr("strides", win.strides), attr("dilations", win.dilations),
                      attr("pads", win.pads(end)), attr("output_padding", op), attr("group", group),
                      attr("kernel_shape", kernel)}));
  }
  if (g.needs(1)) g.set_dx(1, conv_weight_grad(g, g.x(0), g.dy(0), win, group, wd[1]));
  set_bias_grad(g, win.n());
}

// ConvTranspose(X, W) is the adjoint of Conv(., W) over the same window, seen from the
// output: Y plays the convolution's input and X its output. So dX = Conv(dY, W) and dW is
// the convolution weight gradient with dY as input and X as output gradient.
void conv_transpose_rule(GradContext& g) {
  std::vector<int64_t> wd = static_weight_dims(g);
  const ir::Node& node = g.node();
  int64_t group = node.attr_int("group", 1);
  std::vector<int64_t> kernel(wd.begin() + 2, wd.end());
  Window win;  // the convolution's view: `in` is Y's spatial size, `out` X's
  win.in = static_spatial(g, g.y(0));
  win.out = static_spatial(g, g.x(0));
  size_t n = win.n();
  win.kernel = kernel;
  win.strides = node.attr_ints("strides", std::vector<int64_t>(n, 1));
  win.dilations = node.attr_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  std::vector<int64_t> out_pad = node.attr_ints("output_padding", std::vector<int64_t>(n, 0));
  if (kernel.size() != n || win.strides.size() != n || win.dilations.size() != n ||
      pads.size() != 2 * n || out_pad.size() != n) {
    g.fail("window attributes do not match the input's rank");
  }
  win.pad_begin.assign(pads.begin(), pads.begin() + static_cast<long>(n));
  win.pad_end.assign(pads.begin() + static_cast<long>(n), pads.end());
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (same || node.find_attr("output_shape")) {
    // The spec's split of the total padding that makes the output the size it is.
    for (size_t i = 0; i < n; ++i) {
      int64_t full =
          win.strides[i] * (win.out[i] - 1) + out_pad[i] + win.dilations[i] * (kernel[i] - 1) + 1;
      int64_t total = full - win.in[i];
      if (total < 0) g.fail("an output_shape beyond the full output is not supported");
      win.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      win.pad_end[i] = total - win.pad_begin[i];
    }
  }
  if (g.needs(0)) {
    g.set_dx(0, g.op("Conv", {g.dy(0), g.x(1)},
                     {attr("strides", win.strides), attr("dilations", win.dilations),
                      attr("pads", win.pads(win.pad_end)), attr("group", group),
                      attr("kernel_shape", kernel)}));
  }
  if (g.needs(1)) g.set_dx(1, conv_weight_grad(g, g.dy(0), g.x(0), win, group, wd[1]));
  set_bias_grad(g, n);
}

// CausalConvWithState (opset 27): a depthwise Conv (group C, no padding) of each row
// [past_state (or k - 1 zeros), input], optionally through SiLU; present_state is the row's
// last k - 1 values. So with dz the gradient before the SiLU, the row's gradient is
// ConvTranspose(dz) plus present_state's at its end, split between past_state and input;
// dW is Conv's weight gradient over the row; dB sums dz. (The spec leaves past_state and
// present_state undifferentiated; chunked training through the state needs both.)
void causal_conv_rule(GradContext& g) {
  std::vector<int64_t> wd = static_weight_dims(g);
  if (wd.size() != 3 || wd[1] != 1 || wd[2] < 1) g.fail("the weight must be [C, 1, k]");
  int64_t channels = wd[0], k = wd[2], state = k - 1;
  std::string x = g.x(0), w = g.x(1), dy = g.dy(0);
  std::vector<ir::Attribute> depthwise{attr("group", channels)};
  std::string row = g.has_x(3) ? g.op("Concat", {g.x(3), x}, {attr("axis", int64_t{2})})
                    : state    ? g.op("Pad", {x, g.ints({0, 0, state, 0, 0, 0})})
                               : x;
  std::string act = g.node().attr_string("activation", "none"), dz = dy;
  if (act == "silu" || act == "swish") {  // SiLU'(z) = s (1 + z (1 - s)), s = sigmoid(z)
    std::vector<std::string> in{row, w};
    if (g.has_x(2)) in.push_back(g.x(2));
    std::string z = g.op("Conv", in, depthwise), one = g.scalar(1, x);
    std::string s = g.op("Sigmoid", {z});
    dz = g.mul(dy, g.mul(s, g.add(one, g.mul(z, g.sub(one, s)))));
  } else if (act != "none") {
    g.fail("activation '", act, "' is not supported");
  }
  std::string drow = g.op("ConvTranspose", {dz, w}, depthwise);  // [B, C, k - 1 + L]
  if (g.has_dy(1)) {
    drow = g.add(drow, g.op("Concat", {g.zeros_like(x), g.dy(1)}, {attr("axis", int64_t{2})}));
  }
  if (g.needs(0)) {
    g.set_dx(0, g.op("Slice", {drow, g.ints({state}), g.ints({kToEnd}), g.ints({2})}));
  }
  if (g.has_x(3) && g.needs(3)) {
    g.set_dx(3, g.op("Slice", {drow, g.ints({0}), g.ints({state}), g.ints({2})}));
  }
  if (g.needs(1)) {
    auto xd = g.dims(x);
    int64_t len = xd && xd->size() == 3 ? (*xd)[2] : -1;
    Window win;
    win.in = {len >= 0 ? len + state : -1};
    win.out = {len};
    win.kernel = {k};
    win.strides = win.dilations = {1};
    win.pad_begin = win.pad_end = {0};
    g.set_dx(1, conv_weight_grad(g, row, dz, win, channels, 1));
  }
  if (g.has_x(2) && g.needs(2)) g.set_dx(2, g.reduce_sum(dz, {0, 2}, false));
}

// MaxPool: dy goes to the argmax of each window (the Indices output, flat over the whole
// input), summed where windows overlap; without overlap no index repeats.
void max_pool_rule(GradContext& g) {
  if (g.node().attr_int("storage_order", 0) != 0) g.fail("storage_order 1 is not supported");
  std::vector<int64_t> kernel = g.node().attr_ints("kernel_shape");
  std::vector<int64_t> strides =
      g.node().attr_ints("strides", std::vector<int64_t>(kernel.size(), 1));
  std::vector<int64_t> dil =
      g.node().attr_ints("dilations", std::vector<int64_t>(kernel.size(), 1));
  bool overlap = false;
  for (size_t i = 0; i < kernel.size(); ++i) overlap |= dil[i] * (kernel[i] - 1) + 1 > strides[i];
  g.set_dx(0, g.scatter_add_flat(g.y(1), g.dy(0), g.x(0), !overlap));
}

// The adjoint of summing each window of x: every input position receives the sum of `s`
// (shaped like the pooled output) over the windows holding it. A transposed convolution
// with a kernel of ones, per channel.
std::string window_sum_adjoint(GradContext& g, const Window& win, const std::string& s) {
  std::string x = g.x(0);
  // Channels into the batch: [N*C, 1, O...], a [1, 1, K...] kernel of ones.
  std::vector<int64_t> flat{-1, 1};
  flat.insert(flat.end(), win.out.begin(), win.out.end());
  std::string r = g.op("Reshape", {s, g.ints(flat)});
  std::vector<int64_t> kshape{1, 1};
  kshape.insert(kshape.end(), win.kernel.begin(), win.kernel.end());
  std::string ones_k = g.fill(g.ints(kshape), 1.0, x);
  std::vector<int64_t> op, end;
  win.transpose_fit(&op, &end);
  std::string t = g.op(
      "ConvTranspose", {r, ones_k},
      {attr("strides", win.strides), attr("dilations", win.dilations), attr("pads", win.pads(end)),
       attr("output_padding", op), attr("kernel_shape", win.kernel)});
  return g.op("Reshape", {t, g.shape(x)});
}

// AveragePool: every input position receives dy / divisor from each window holding it.
void average_pool_rule(GradContext& g) {
  std::vector<int64_t> kernel = g.node().attr_ints("kernel_shape");
  Window win = window(g, kernel);
  bool include_pad = g.node().attr_int("count_include_pad", 0) != 0;
  std::string x = g.x(0), dy = g.dy(0);
  double kprod = 1;
  for (int64_t k : kernel) kprod *= static_cast<double>(k);
  std::string scaled;
  bool padded =
      std::any_of(win.pad_begin.begin(), win.pad_begin.end(), [](int64_t p) { return p; }) ||
      std::any_of(win.pad_end.begin(), win.pad_end.end(), [](int64_t p) { return p; });
  if (include_pad || !padded) {
    scaled = g.div(dy, g.scalar(kprod, x));
  } else {
    // The divisor counts the window's positions inside the input: an average with pads
    // counted, of ones, times the window size.
    std::vector<ir::Attribute> attrs = g.node().attributes;
    bool found = false;
    for (auto& a : attrs) {
      if (a.name == "count_include_pad") a.i = 1, found = true;
    }
    if (!found) attrs.push_back(attr("count_include_pad", int64_t{1}));
    std::string ones = g.fill(g.shape(x), 1.0, x);
    std::string frac = g.op("AveragePool", {ones}, attrs);
    scaled = g.div(dy, g.mul(frac, g.scalar(kprod, x)));
  }
  g.set_dx(0, window_sum_adjoint(g, win, scaled));
}

// Lp pooling, y = (sum |x|^p)^(1/p) per window: dy/dx = sign(x) |x|^(p-1) y^(1-p), summed
// over the windows holding x. `global`: one window, the whole spatial extent.
template <bool kGlobal>
void lp_pool_rule(GradContext& g) {
  std::string x = g.x(0), y = g.y(0);
  int64_t p = g.node().attr_int("p", 2);
  if (p < 1) g.fail("p must be at least 1");
  std::string s = g.mul(g.dy(0), g.op("Pow", {y, g.scalar(static_cast<double>(1 - p), x)}));
  std::string w =
      kGlobal ? s : window_sum_adjoint(g, window(g, g.node().attr_ints("kernel_shape")), s);
  std::string local = g.mul(
      g.op("Sign", {x}), g.op("Pow", {g.op("Abs", {x}), g.scalar(static_cast<double>(p - 1), x)}));
  g.set_dx(0, g.mul(local, w));
}

void global_average_pool_rule(GradContext& g) {
  std::string x = g.x(0);
  auto cast = [&](const std::string& v) { return g.as_type_of(v, x); };
  std::string count = g.div(cast(g.op("Size", {x})), cast(g.op("Size", {g.y(0)})));
  g.set_dx(0, g.op("Expand", {g.div(g.dy(0), count), g.shape(x)}));
}

void global_max_pool_rule(GradContext& g) {  // shared among ties, as ReduceMax
  std::string x = g.x(0);
  auto r = g.rank(x);
  if (!r) g.fail("the rank of the input must be known");
  std::string mask = g.as_type_of(g.op("Equal", {x, g.y(0)}), x);
  std::string count = g.reduce_sum(mask, axes_range(2, *r), true);
  g.set_dx(0, g.mul(mask, g.div(g.dy(0), count)));
}

// Col2Im sums blocks into an image; its adjoint cuts the blocks back out (im2col), which is
// a Conv of each channel with one one-hot kernel per block position: output channel k of
// that Conv is block element k at every block location, the order Col2Im's input has.
void col2im_rule(GradContext& g) {
  auto image = g.constant_value(g.x(1)), block = g.constant_value(g.x(2));
  if (!image || !block) g.fail("image_shape and block_shape must be constants");
  std::vector<int64_t> is = image->to_int64s(), bs = block->to_int64s();
  int64_t cells = 1;
  for (int64_t b : bs) cells *= b;
  if (is.size() != bs.size() || cells <= 0) g.fail("image_shape and block_shape do not match");
  Shape kernel{cells, 1};
  kernel.insert(kernel.end(), bs.begin(), bs.end());
  Tensor eye = Tensor::zeros(DType::Float64, kernel);
  for (int64_t k = 0; k < cells; ++k) eye.data<double>()[k * cells + k] = 1;
  std::vector<int64_t> planes{-1, 1};  // every (n, c) image as one single-channel image
  planes.insert(planes.end(), is.begin(), is.end());
  std::string x = g.op("Reshape", {g.dy(0), g.ints(planes)});
  std::vector<ir::Attribute> attrs;
  for (const char* a : {"dilations", "pads", "strides"}) {
    if (const ir::Attribute* v = g.node().find_attr(a)) attrs.push_back(*v);
  }
  std::string cols = g.op("Conv", {x, g.as_type_of(g.constant(eye), g.dy(0))}, attrs);
  g.set_dx(0, g.op("Reshape", {cols, g.shape(g.x(0))}));
}

constexpr GradDef kDefs[] = {
    {"", "Conv", 1, kLatestOpset, conv_rule},
    {"", "ConvTranspose", 1, kLatestOpset, conv_transpose_rule},
    {"", "CausalConvWithState", 27, kLatestOpset, causal_conv_rule},
    {"", "MaxPool", 8, kLatestOpset, max_pool_rule},
    {"", "AveragePool", 7, kLatestOpset, average_pool_rule},
    {"", "GlobalAveragePool", 1, kLatestOpset, global_average_pool_rule},
    {"", "GlobalMaxPool", 1, kLatestOpset, global_max_pool_rule},
    {"", "LpPool", 11, kLatestOpset, lp_pool_rule<false>},
    {"", "GlobalLpPool", 2, kLatestOpset, lp_pool_rule<true>},
    {"", "Col2Im", 18, kLatestOpset, col2im_rule},
};

}  // namespace

std::span<const GradDef> conv_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
