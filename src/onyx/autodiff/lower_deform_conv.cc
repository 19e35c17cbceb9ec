// DeformConv written in primitive ops, so that their rules give the gradients with respect
// to X, W, offset, B and mask. Each kernel tap k of each output position o samples its
// channel at p = o * stride - pad + k * dilation + offset, N-linearly (zero outside the
// input): 2^R corner taps read by GatherElements (whose rule scatters back to X) with
// weights made of p - floor(p) (through which offset's gradient comes). The samples, times
// the mask, form the im2col matrix, and a grouped MatMul with W and the bias finish. The
// arithmetic follows the runtime's kernel (ops/deform_conv.cc) step by step; the gradient
// check asserts the two agree on the forward values.
#include <algorithm>
#include <functional>
#include <numeric>

#include "onyx/autodiff/rewriter.h"
#include "onyx/autodiff/unroll.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

class DeformConvLowering : Rewriter {
 public:
  DeformConvLowering(ir::GraphBuilder& b, const ir::Node& n, const Types& types)
      : Rewriter(b, n, types, "lower") {}

  void run() {
    geometry();
    int64_t R = static_cast<int64_t>(in_.size());
    // offset [N, OG*K*R, out...] -> [N, OG, K, R, O]; each axis's positions [N, OG, K, O].
    std::string off = b_.op("Reshape", {n_.input(2), ints({0, og_, taps_, R, points_})});
    std::vector<std::string> floors, frac;
    std::string valid;
    for (int64_t d = 0; d < R; ++d) {
      std::string p = b_.op(
          "Add", {b_.op("Gather", {off, index(d)}, {attr("axis", int64_t{3})}), base_positions(d)});
      // The kernel reads zero unless -1 < p < size on every axis.
      std::string in = b_.op("And", {b_.op("Greater", {p, c(-1)}), below(p, in_[d])});
      valid = valid.empty() ? in : b_.op("And", {valid, in});
      floors.push_back(b_.op("Floor", {p}));
      frac.push_back(b_.op("Sub", {p, floors.back()}));
    }
    // X [N, C, in...] as [N, OG, C/OG, S]: the channels of an offset group share positions.
    int64_t per_offset_group = channels_ / og_, flat_points = taps_ * points_;
    std::string image = b_.op("Reshape", {n_.input(0), ints({0, og_, per_offset_group, -1})});
    std::string spread = ints({1, 1, per_offset_group, 1});
    std::vector<std::string> terms;
    for (int64_t corner = 0; corner < (int64_t{1} << R); ++corner) {
      std::string weight, inside = valid, flat;
      int64_t stride = 1;
      for (int64_t d = R - 1; d >= 0; --d) {
        bool up = (corner >> d) & 1;
        std::string i = up ? b_.op("Add", {floors[d], c(1)}) : floors[d];
        std::string w = up ? frac[d] : b_.op("Sub", {c(1), frac[d]});
        weight = weight.empty() ? w : b_.op("Mul", {w, weight});
        inside =
            b_.op("And", {inside, b_.op("And", {b_.op("Not", {below(i, 0)}), below(i, in_[d])})});
        // The corner's flat index, clamped into the input (its weight is 0 when outside).
        std::string at = b_.op("Clip", {i, c(0), c(static_cast<double>(in_[d] - 1))});
        at = b_.op("Mul", {b_.op("Cast", {at}, {attr("to", static_cast<int64_t>(DType::Int64))}),
                           index(stride)});
        flat = flat.empty() ? at : b_.op("Add", {flat, at});
        stride *= in_[d];
      }
      weight = b_.op("Where", {inside, weight, c(0)});
      std::string idx = b_.op("Reshape", {flat, ints({0, og_, 1, flat_points})});
      idx = b_.op("Expand", {idx, spread});
      std::string v = b_.op("GatherElements", {image, idx}, {attr("axis", int64_t{3})});
      terms.push_back(
          b_.op("Mul", {v, b_.op("Reshape", {weight, ints({0, og_, 1, flat_points})})}));
    }
    std::string cols = b_.op("Sum", terms);  // [N, OG, C/OG, K*O]
    if (n_.has_input(4)) {
      cols = b_.op("Mul", {cols, b_.op("Reshape", {n_.input(4), ints({0, og_, 1, flat_points})})});
    }
    // im2col [N, G, C/G * K, O] against W [G, oC/G, C/G * K].
    int64_t cg = channels_ / group_;
    cols = b_.op("Reshape", {cols, ints({0, group_, cg * taps_, points_})});
    std::string w =
        b_.op("Reshape", {n_.input(1), ints({group_, out_channels_ / group_, cg * taps_})});
    std::vector<int64_t> shape{0, out_channels_};
    shape.insert(shape.end(), out_.begin(), out_.end());
    std::string y = b_.op("Reshape", {b_.op("MatMul", {w, cols}), ints(shape)});
    if (n_.has_input(3)) {
      std::vector<int64_t> column(static_cast<size_t>(R + 1), 1);
      column[0] = out_channels_;
      y = b_.op("Add", {y, b_.op("Reshape", {n_.input(3), ints(column)})});
    }
    alias(y, n_.outputs.at(0));
  }

 private:
  std::string c(double v) { return scalar(v, t_); }

  std::string below(const std::string& v, int64_t limit) {
    return b_.op("Less", {v, c(static_cast<double>(limit))});
  }

  // The static shapes and the window: X's channels and spatial sizes, W's, and the output's.
  void geometry() {
    auto xd = dims_of(n_.input(0)), wd = dims_of(n_.input(1));
    auto known = [](const std::vector<int64_t>& d, size_t from) {
      return std::all_of(d.begin() + static_cast<long>(from), d.end(),
                         [](int64_t v) { return v > 0; });
    };
    if (!xd || !wd || xd->size() < 3 || wd->size() != xd->size() || !known(*xd, 1) ||
        !known(*wd, 0)) {
      fail_here("the shapes of X (but its batch) and W must be known statically");
    }
    if (!n_.has_input(2)) fail_here("the offset input is required");
    t_ = elem(n_.input(0));
    if (t_ != DType::Float32 && t_ != DType::Float64)
      fail_here("X must be float or double with a known type");
    size_t R = xd->size() - 2;
    channels_ = (*xd)[1];
    out_channels_ = (*wd)[0];
    group_ = n_.attr_int("group", 1);
    og_ = n_.attr_int("offset_group", 1);
    if (group_ < 1 || og_ < 1 || channels_ % group_ || out_channels_ % group_ ||
        (*wd)[1] * group_ != channels_ || channels_ % og_) {
      fail_here("W ", (*wd)[1], " channels per group, group ", group_, " and offset_group ", og_,
                " do not fit ", channels_, " input channels");
    }
    in_.assign(xd->begin() + 2, xd->end());
    kernel_.assign(wd->begin() + 2, wd->end());
    if (n_.find_attr("kernel_shape") && n_.attr_ints("kernel_shape") != kernel_) {
      fail_here("kernel_shape does not match W's shape");
    }
    std::string auto_pad = n_.attr_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID")
      fail_here("auto_pad ", auto_pad, " is not supported");
    strides_ = n_.attr_ints("strides", std::vector<int64_t>(R, 1));
    dilations_ = n_.attr_ints("dilations", std::vector<int64_t>(R, 1));
    std::vector<int64_t> pads = n_.attr_ints("pads", std::vector<int64_t>(2 * R, 0));
    if (auto_pad == "VALID") pads.assign(2 * R, 0);
    if (strides_.size() != R || dilations_.size() != R || pads.size() != 2 * R) {
      fail_here("strides, dilations and pads do not match the input's rank");
    }
    pad_begin_.assign(pads.begin(), pads.begin() + static_cast<long>(R));
    for (size_t d = 0; d < R; ++d) {
      int64_t span = (kernel_[d] - 1) * dilations_[d] + 1;
      int64_t room = in_[d] + pads[d] + pads[R + d] - span;
      if (room < 0 || strides_[d] < 1) fail_here("the kernel does not fit the padded input");
      out_.push_back(room / strides_[d] + 1);
    }
    taps_ = std::accumulate(kernel_.begin(), kernel_.end(), int64_t{1}, std::multiplies<>());
    points_ = std::accumulate(out_.begin(), out_.end(), int64_t{1}, std::multiplies<>());
    // offset [N, OG*K*R, out...] and mask [N, OG*K, out...], as far as they are known.
    for (size_t i : {size_t{2}, size_t{4}}) {
      auto d = n_.has_input(i) ? dims_of(n_.input(i)) : std::nullopt;
      if (!d) continue;
      Shape want{(*d)[0], og_ * taps_ * (i == 2 ? static_cast<int64_t>(R) : 1)};
      want.insert(want.end(), out_.begin(), out_.end());
      bool fits = d->size() == want.size();
      for (size_t a = 1; fits && a < want.size(); ++a) fits = (*d)[a] < 0 || (*d)[a] == want[a];
      if (!fits) {
        fail_here(i == 2 ? "offset" : "mask", " has shape ", shape_str(*d), ", expected ",
                  shape_str(want));
      }
    }
  }

  // o_d * stride - pad + k_d * dilation along axis d, for every tap k and output position o:
  // a constant [K, O] of the input's type.
  std::string base_positions(int64_t d) {
    size_t R = in_.size(), axis = static_cast<size_t>(d);
    std::vector<double> v;
    v.reserve(static_cast<size_t>(taps_ * points_));
    std::vector<int64_t> kpos(R), opos(R);
    for (int64_t k = 0; k < taps_; ++k) {
      for (int64_t i = static_cast<int64_t>(R) - 1, rest = k; i >= 0; --i) {
        kpos[static_cast<size_t>(i)] = rest % kernel_[static_cast<size_t>(i)];
        rest /= kernel_[static_cast<size_t>(i)];
      }
      for (int64_t o = 0; o < points_; ++o) {
        int64_t rest = o;
        for (int64_t i = static_cast<int64_t>(R) - 1; i >= 0; --i) {
          opos[static_cast<size_t>(i)] = rest % out_[static_cast<size_t>(i)];
          rest /= out_[static_cast<size_t>(i)];
        }
        v.push_back(static_cast<double>(opos[axis] * strides_[axis] - pad_begin_[axis] +
                                        kpos[axis] * dilations_[axis]));
      }
    }
    std::string t = b_.constant("c", Tensor::from_vector<double>({taps_, points_}, v));
    if (t_ == DType::Float64) return t;
    return b_.op("Cast", {t}, {attr("to", static_cast<int64_t>(t_))});
  }

  DType t_ = DType::Undefined;
  int64_t channels_ = 0, out_channels_ = 0, group_ = 1, og_ = 1, taps_ = 1, points_ = 1;
  std::vector<int64_t> in_, kernel_, out_, strides_, dilations_, pad_begin_;
};

}  // namespace

void emit_lowered_deform_conv(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                              int64_t opset) {
  // Opset 19 on: GatherElements' gradient has the accumulating ScatterElements (16).
  DeformConvLowering(b, n, types).run();
}

}  // namespace onyx::autodiff
