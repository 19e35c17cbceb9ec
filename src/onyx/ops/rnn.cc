// Recurrent layers: RNN, GRU and LSTM (opsets 7 and 14: directions, layouts, activations
// with alpha/beta, clip, sequence_lens, initial states, peepholes, linear_before_reset).
// One driver walks time and directions; each op supplies its cell.
#include <cmath>
#include <functional>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

using Activation = std::function<double(double)>;

// Builds the activation list, consuming activation_alpha/beta entries in order for the
// functions that take them (as onnxruntime does).
std::vector<Activation> make_activations(const KernelInfo& info, std::vector<std::string> defaults,
                                         int directions) {
  const ir::Node& n = info.node;
  std::vector<std::string> names = n.attr_strings("activations");
  if (names.empty()) {
    for (int d = 0; d < directions; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  }
  if (names.size() != defaults.size() * directions) {
    info.fail(ErrorKind::InvalidModel, "activations needs ", defaults.size() * directions,
              " entries, got ", names.size());
  }
  std::vector<float> alphas = n.attr_floats("activation_alpha");
  std::vector<float> betas = n.attr_floats("activation_beta");
  size_t ai = 0, bi = 0;
  auto next = [](const std::vector<float>& v, size_t& i, float dflt) {
    return i < v.size() ? v[i++] : dflt;
  };
  std::vector<Activation> out;
  for (const auto& raw : names) {
    std::string name;
    for (char c : raw) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "sigmoid") {
      out.push_back([](double x) { return 1.0 / (1.0 + std::exp(-x)); });
    } else if (name == "tanh") {
      out.push_back([](double x) { return std::tanh(x); });
    } else if (name == "relu") {
      out.push_back([](double x) { return x > 0 ? x : 0.0; });
    } else if (name == "affine") {
      double a = next(alphas, ai, 1.0f), b = next(betas, bi, 0.0f);
      out.push_back([a, b](double x) { return a * x + b; });
    } else if (name == "leakyrelu") {
      double a = next(alphas, ai, 0.01f);
      out.push_back([a](double x) { return x >= 0 ? x : a * x; });
    } else if (name == "thresholdedrelu") {
      double a = next(alphas, ai, 1.0f);
      out.push_back([a](double x) { return x > a ? x : 0.0; });
    } else if (name == "scaledtanh") {
      double a = next(alphas, ai, 1.0f), b = next(betas, bi, 1.0f);
      out.push_back([a, b](double x) { return a * std::tanh(b * x); });
    } else if (name == "hardsigmoid") {
      double a = next(alphas, ai, 0.2f), b = next(betas, bi, 0.5f);
      out.push_back([a, b](double x) { return std::max(0.0, std::min(1.0, a * x + b)); });
    } else if (name == "elu") {
      double a = next(alphas, ai, 1.0f);
      out.push_back([a](double x) { return x >= 0 ? x : a * (std::exp(x) - 1); });
    } else if (name == "softsign") {
      out.push_back([](double x) { return x / (1 + std::abs(x)); });
    } else if (name == "softplus") {
      out.push_back([](double x) { return std::log1p(std::exp(x)); });
    } else {
      info.fail(ErrorKind::Unsupported, "activation '", raw, "' is not supported");
    }
  }
  return out;
}

enum class Cell { Rnn, Gru, Lstm };

class RecurrentKernel final : public Kernel {
 public:
  RecurrentKernel(const KernelInfo& info, Cell cell) : cell_(cell) {
    const ir::Node& n = info.node;
    std::string dir = n.attr_string("direction", "forward");
    if (dir == "forward")
      directions_ = 1;
    else if (dir == "reverse")
      directions_ = 1, reverse_only_ = true;
    else if (dir == "bidirectional")
      directions_ = 2;
    else
      info.fail(ErrorKind::InvalidModel, "direction '", dir,
                "' is not forward, reverse or bidirectional");
    hidden_ = n.attr_int("hidden_size", 0);
    if (hidden_ <= 0) info.fail(ErrorKind::InvalidModel, "hidden_size must be positive");
    layout_ = n.attr_int("layout", 0);
    if (layout_ != 0 && layout_ != 1) info.fail(ErrorKind::InvalidModel, "layout must be 0 or 1");
    if (const ir::Attribute* c = n.find_attr("clip")) clip_ = c->f;
    linear_before_reset_ = n.attr_int("linear_before_reset", 0) != 0;
    input_forget_ = n.attr_int("input_forget", 0) != 0;
    switch (cell) {
      case Cell::Rnn:
        gates_ = 1;
        acts_ = make_activations(info, {"Tanh"}, directions_);
        break;
      case Cell::Gru:
        gates_ = 3;
        acts_ = make_activations(info, {"Sigmoid", "Tanh"}, directions_);
        break;
      case Cell::Lstm:
        gates_ = 4;
        acts_ = make_activations(info, {"Sigmoid", "Tanh", "Tanh"}, directions_);
        break;
    }
  }
  static std::unique_ptr<Kernel> rnn(const KernelInfo& i) {
    return std::make_unique<RecurrentKernel>(i, Cell::Rnn);
  }
  static std::unique_ptr<Kernel> gru(const KernelInfo& i) {
    return std::make_unique<RecurrentKernel>(i, Cell::Gru);
  }
  static std::unique_ptr<Kernel> lstm(const KernelInfo& i) {
    return std::make_unique<RecurrentKernel>(i, Cell::Lstm);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() != 3) ctx.fail(ctx.input_name(0), " must have rank 3, got ", shape_str(x.shape()));
    visit_float(x.dtype(), [&](auto tag) { run<decltype(tag)>(ctx); });
  }

 private:
  void expect_shape(const KernelContext& ctx, size_t i, const Shape& want) const {
    if (!ctx.has_input(i)) return;
    if (ctx.input(i).shape() != want) {
      ctx.fail(ctx.input_name(i), " must have shape ", shape_str(want), ", got ",
               shape_str(ctx.input(i).shape()));
    }
  }

  template <typename T>
  void run(KernelContext& ctx) {
    using C = compute_t<T>;
    const Tensor& x = ctx.input(0);
    int64_t seq = layout_ ? x.dim(1) : x.dim(0);
    int64_t batch = layout_ ? x.dim(0) : x.dim(1);
    int64_t in = x.dim(2);
    int64_t H = hidden_, G = gates_, D = directions_;
    expect_shape(ctx, 1, {D, G * H, in});
    expect_shape(ctx, 2, {D, G * H, H});
    expect_shape(ctx, 3, {D, 2 * G * H});
    Shape state_shape = layout_ ? Shape{batch, D, H} : Shape{D, batch, H};
    expect_shape(ctx, 5, state_shape);
    if (cell_ == Cell::Lstm) {
      expect_shape(ctx, 6, state_shape);
      expect_shape(ctx, 7, {D, 3 * H});
    }
    const T* X = x.data<T>();
    const T* W = ctx.input(1).data<T>();
    const T* R = ctx.input(2).data<T>();
    const T* B = ctx.has_input(3) ? ctx.input(3).data<T>() : nullptr;
    std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
    if (ctx.has_input(4)) {
      lens = ctx.input(4).to_int64s();
      if (static_cast<int64_t>(lens.size()) != batch)
        ctx.fail(ctx.input_name(4), " must have batch_size entries");
      for (int64_t l : lens) {
        if (l < 0 || l > seq)
          ctx.fail(ctx.input_name(4), " has length ", l, " outside [0, ", seq, "]");
      }
    }
    const T* H0 = ctx.has_input(5) ? ctx.input(5).data<T>() : nullptr;
    const T* C0 = cell_ == Cell::Lstm && ctx.has_input(6) ? ctx.input(6).data<T>() : nullptr;
    const T* P = cell_ == Cell::Lstm && ctx.has_input(7) ? ctx.input(7).data<T>() : nullptr;

    Shape y_shape = layout_ ? Shape{batch, seq, D, H} : Shape{seq, D, batch, H};
    Tensor& Y = ctx.allocate(0, x.dtype(), y_shape);
    Tensor& Yh = ctx.allocate(1, x.dtype(), state_shape);
    Tensor* Yc = cell_ == Cell::Lstm ? &ctx.allocate(2, x.dtype(), state_shape) : nullptr;
    std::fill_n(Y.data<T>(), Y.numel(), T(0.0f));

    auto xat = [&](int64_t t, int64_t b) {
      return X + (layout_ ? (b * seq + t) : (t * batch + b)) * in;
    };
    auto yat = [&](int64_t t, int64_t d, int64_t b) {
      return Y.data<T>() + (layout_ ? ((b * seq + t) * D + d) : ((t * D + d) * batch + b)) * H;
    };
    auto sat = [&](int64_t d, int64_t b) {
      return layout_ ? (b * D + d) * H : (d * batch + b) * H;
    };

    std::vector<C> h(H), c(H), g(G * H), rh(H);
    for (int64_t d = 0; d < D; ++d) {
      bool reverse = reverse_only_ || d == 1;
      const Activation* act = &acts_[d * (acts_.size() / D)];
      const T* Wd = W + d * G * H * in;
      const T* Rd = R + d * G * H * H;
      const T* Wb = B ? B + d * 2 * G * H : nullptr;
      const T* Rb = B ? Wb + G * H : nullptr;
      const T* Pd = P ? P + d * 3 * H : nullptr;
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t j = 0; j < H; ++j) {
          h[j] = H0 ? C(H0[sat(d, b) + j]) : C(0);
          c[j] = C0 ? C(C0[sat(d, b) + j]) : C(0);
        }
        for (int64_t s = 0; s < lens[b]; ++s) {
          int64_t t = reverse ? lens[b] - 1 - s : s;
          const T* xt = xat(t, b);
          // Pre-activations: x W^T + Wb (+ h R^T + Rb, except GRU's hidden gate).
          for (int64_t k = 0; k < G * H; ++k) {
            C acc = Wb ? C(Wb[k]) : C(0);
            const T* w = Wd + k * in;
            for (int64_t i = 0; i < in; ++i) acc += C(xt[i]) * C(w[i]);
            bool gru_hidden = cell_ == Cell::Gru && k >= 2 * H;
            if (!gru_hidden) {
              acc += Rb ? C(Rb[k]) : C(0);
              const T* r = Rd + k * H;
              for (int64_t i = 0; i < H; ++i) acc += h[i] * C(r[i]);
            }
            g[k] = acc;
          }
          step(g, h, c, rh, Rd, Rb, Pd, act);
          T* y = yat(t, d, b);
          for (int64_t j = 0; j < H; ++j) y[j] = T(h[j]);
        }
        for (int64_t j = 0; j < H; ++j) {
          Yh.data<T>()[sat(d, b) + j] = T(h[j]);
          if (Yc) Yc->data<T>()[sat(d, b) + j] = T(c[j]);
        }
      }
    }
  }

  template <typename C, typename T>
  void step(std::vector<C>& g, std::vector<C>& h, std::vector<C>& c, std::vector<C>& rh,
            const T* Rd, const T* Rb, const T* Pd, const Activation* act) const {
    int64_t H = hidden_;
    auto clip = [&](C v) { return clip_ ? std::max<C>(-*clip_, std::min<C>(*clip_, v)) : v; };
    auto f = [&](int k, C v) { return C(act[k](double(clip(v)))); };
    switch (cell_) {
      case Cell::Rnn:
        for (int64_t j = 0; j < H; ++j) h[j] = f(0, g[j]);
        break;
      case Cell::Gru: {
        // Gate order z, r, h.
        std::vector<C> z(H), r(H);
        for (int64_t j = 0; j < H; ++j) {
          z[j] = f(0, g[j]);
          r[j] = f(0, g[H + j]);
        }
        const T* Rh = Rd + 2 * H * H;
        for (int64_t j = 0; j < H; ++j) {
          C rec = 0;
          if (linear_before_reset_) {
            for (int64_t i = 0; i < H; ++i) rec += h[i] * C(Rh[j * H + i]);
            rec = r[j] * (rec + (Rb ? C(Rb[2 * H + j]) : C(0)));
          } else {
            for (int64_t i = 0; i < H; ++i) rec += r[i] * h[i] * C(Rh[j * H + i]);
            rec += Rb ? C(Rb[2 * H + j]) : C(0);
          }
          rh[j] = f(1, g[2 * H + j] + rec);
        }
        for (int64_t j = 0; j < H; ++j) h[j] = (C(1) - z[j]) * rh[j] + z[j] * h[j];
        break;
      }
      case Cell::Lstm: {
        // Gate order i, o, f, c; peepholes P = [Pi, Po, Pf].
        for (int64_t j = 0; j < H; ++j) {
          C pi = Pd ? C(Pd[j]) : C(0), po = Pd ? C(Pd[H + j]) : C(0),
            pf = Pd ? C(Pd[2 * H + j]) : C(0);
          C i = f(0, g[j] + pi * c[j]);
          C fg = input_forget_ ? C(1) - i : f(0, g[2 * H + j] + pf * c[j]);
          C cc = f(1, g[3 * H + j]);
          c[j] = fg * c[j] + i * cc;
          C o = f(0, g[H + j] + po * c[j]);
          h[j] = o * f(2, c[j]);
        }
        break;
      }
    }
  }

  Cell cell_;
  int64_t directions_ = 1, hidden_ = 0, layout_ = 0, gates_ = 1;
  bool reverse_only_ = false, linear_before_reset_ = false, input_forget_ = false;
  std::optional<float> clip_;
  std::vector<Activation> acts_;
};

constexpr KernelDef kDefs[] = {
    {"", "RNN", 7, kLatest, &RecurrentKernel::rnn},
    {"", "GRU", 7, kLatest, &RecurrentKernel::gru},
    {"", "LSTM", 7, kLatest, &RecurrentKernel::lstm},
};

}  // namespace

void register_rnn_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
