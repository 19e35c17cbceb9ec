// Signal processing: DFT and STFT (opset 17). Transforms are computed in double: directly
// for short lengths (as exact as the sum can be), by FFT past kDirectMax, radix 2 for powers
// of two and Bluestein's chirp transform otherwise. The direct sum alone is O(n^2): a
// dft_length of 2^20 took longer than anyone waits.
#include <algorithm>
#include <cmath>
#include <complex>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

using cd = std::complex<double>;

constexpr int64_t kDirectMax = 64;

// exp(sign * 2 pi i * num / den), with num reduced first so that large products stay exact.
cd unit_root(double sign, int64_t num, int64_t den) {
  double angle = sign * 2.0 * M_PI * static_cast<double>(num % den) / static_cast<double>(den);
  return cd(std::cos(angle), std::sin(angle));
}

// In place, a.size() a power of two: iterative radix-2, twiddles from one table.
void fft_pow2(std::vector<cd>& a, double sign) {
  size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j |= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  std::vector<cd> w(n / 2);
  for (size_t k = 0; k < n / 2; ++k) {
    w[k] = unit_root(sign, static_cast<int64_t>(k), static_cast<int64_t>(n));
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    size_t step = n / len;
    for (size_t i = 0; i < n; i += len) {
      for (size_t k = 0; k < len / 2; ++k) {
        cd u = a[i + k], v = a[i + k + len / 2] * w[k * step];
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
      }
    }
  }
}

// out[k] = sum_j in[j] * exp(sign * 2 pi i j k / n), k < bins; divided by n when inverse.
void dft(const std::vector<cd>& in, int64_t n, int64_t bins, bool inverse, std::vector<cd>& out) {
  double sign = inverse ? 1.0 : -1.0;
  out.assign(static_cast<size_t>(bins), cd(0, 0));
  if (n <= kDirectMax) {
    for (int64_t k = 0; k < bins; ++k) {
      cd acc(0, 0);
      for (int64_t j = 0; j < n; ++j) acc += in[j] * unit_root(sign, j * k, n);
      out[k] = acc;
    }
  } else if ((n & (n - 1)) == 0) {
    std::vector<cd> a(in.begin(), in.begin() + n);
    fft_pow2(a, sign);
    std::copy_n(a.begin(), bins, out.begin());
  } else {
    // Bluestein: jk = (j^2 + k^2 - (k - j)^2) / 2 turns the sum into a convolution with the
    // chirp c[m] = exp(sign * pi i m^2 / n), done by power-of-two FFTs.
    size_t m = 1;
    while (m < static_cast<size_t>(2 * n - 1)) m <<= 1;
    std::vector<cd> chirp(static_cast<size_t>(n)), a(m, cd(0, 0)), b(m, cd(0, 0));
    for (int64_t j = 0; j < n; ++j) {
      // j^2 mod 2n, computed without overflow: the chirp's period is 2n.
      int64_t sq = static_cast<int64_t>((static_cast<unsigned __int128>(j) * j) % (2 * n));
      chirp[j] = unit_root(sign, sq, 2 * n);
    }
    for (int64_t j = 0; j < n; ++j) a[j] = in[j] * chirp[j];
    b[0] = std::conj(chirp[0]);
    for (int64_t j = 1; j < n; ++j) b[j] = b[m - j] = std::conj(chirp[j]);
    fft_pow2(a, -1.0);
    fft_pow2(b, -1.0);
    for (size_t i = 0; i < m; ++i) a[i] *= b[i];
    fft_pow2(a, 1.0);
    for (int64_t k = 0; k < bins; ++k) out[k] = a[k] * chirp[k] / static_cast<double>(m);
  }
  if (inverse) {
    for (auto& v : out) v /= static_cast<double>(n);
  }
}

int64_t scalar_int(const KernelContext& ctx, size_t i) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1 || !is_integer(t.dtype()))
    ctx.fail(ctx.input_name(i), " must be a scalar integer");
  return t.to_int64s()[0];
}

// DFT-17 takes the axis as an attribute (default 1), DFT-20 as input 2 (default -2, the last
// signal axis). onesided with inverse is the IRFFT: a half spectrum in, a real signal out.
class DftKernel final : public Kernel {
 public:
  explicit DftKernel(const KernelInfo& info)
      : axis_input_(info.opset >= 20),
        axis_(axis_input_ ? -2 : info.node.attr_int("axis", 1)),
        inverse_(info.node.attr_int("inverse", 0) != 0),
        onesided_(info.node.attr_int("onesided", 0) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<DftKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2 || (x.dim(x.rank() - 1) != 1 && x.dim(x.rank() - 1) != 2)) {
      ctx.fail(ctx.input_name(0), " must end in a dimension of 1 (real) or 2 (complex), got ",
               shape_str(x.shape()));
    }
    int64_t axis_value = axis_input_ && ctx.has_input(2) ? scalar_int(ctx, 2) : axis_;
    int64_t axis = axis_value < 0 ? axis_value + x.rank() : axis_value;
    if (axis < 0 || axis >= x.rank() - 1)
      ctx.fail("axis ", axis_value, " is out of range for ", shape_str(x.shape()));
    bool complex_in = x.dim(x.rank() - 1) == 2;
    bool irfft = onesided_ && inverse_;
    if (irfft && !complex_in) ctx.fail("an inverse onesided DFT needs a complex input");
    int64_t in_len = x.dim(axis);
    int64_t n = ctx.has_input(1) ? scalar_int(ctx, 1) : irfft ? 2 * (in_len - 1) : in_len;
    if (n < 1) ctx.fail(ctx.input_name(1), " must be positive");
    // IRFFT: bins of the half spectrum read, n real values written; otherwise n read, bins out.
    int64_t half = n / 2 + 1;
    int64_t bins = irfft ? n : onesided_ ? half : n;
    int64_t read = irfft ? std::min(in_len, half) : std::min(in_len, n);
    Shape out_shape = x.shape();
    out_shape[axis] = bins;
    out_shape.back() = irfft ? 1 : 2;
    Tensor& y = ctx.allocate(0, x.dtype(), out_shape);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank() - 1; ++d) inner *= x.dim(d);
    int64_t comps = complex_in ? 2 : 1;
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data<T>();
      T* out = y.data<T>();
      std::vector<cd> sig(static_cast<size_t>(n)), res;
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            if (j >= read) {
              sig[j] = 0;
              continue;
            }
            const T* e = in + ((o * in_len + j) * inner + i) * comps;
            // compute_t: float64 signals transform in double, the rest in float.
            using C = compute_t<T>;
            sig[j] = cd(static_cast<C>(e[0]), complex_in ? static_cast<C>(e[1]) : C(0));
          }
          if (irfft) {  // the rest of the spectrum by conjugate symmetry: X[n - k] = X[k]*
            for (int64_t k = half; k < n; ++k) sig[k] = n - k < read ? std::conj(sig[n - k]) : 0;
          }
          dft(sig, n, bins, inverse_, res);
          int64_t out_comps = irfft ? 1 : 2;
          for (int64_t k = 0; k < bins; ++k) {
            T* e = out + ((o * bins + k) * inner + i) * out_comps;
            e[0] = static_cast<T>(static_cast<compute_t<T>>(res[k].real()));
            if (!irfft) e[1] = static_cast<T>(static_cast<compute_t<T>>(res[k].imag()));
          }
        }
      }
    });
  }

 private:
  bool axis_input_;
  int64_t axis_;
  bool inverse_, onesided_;
};

class StftKernel final : public Kernel {
 public:
  explicit StftKernel(const KernelInfo& info) : onesided_(info.node.attr_int("onesided", 1) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<StftKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2)) {
      ctx.fail(ctx.input_name(0), " must be [batch, length, 1 or 2], got ", shape_str(x.shape()));
    }
    int64_t step = scalar_int(ctx, 1);
    if (step < 1) ctx.fail(ctx.input_name(1), " must be positive");
    const Tensor* window = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    int64_t len = window ? window->numel() : -1;
    if (ctx.has_input(3)) {
      int64_t fl = scalar_int(ctx, 3);
      if (window && fl != len) ctx.fail("frame_length ", fl, " differs from the window's ", len);
      len = fl;
    }
    if (len < 1) ctx.fail("frame length is unknown: give a window or frame_length");
    int64_t batch = x.dim(0), signal = x.dim(1);
    if (len > signal) ctx.fail("frame length ", len, " is longer than the signal (", signal, ")");
    bool complex_in = x.dim(2) == 2;
    if (complex_in && onesided_) ctx.fail("onesided output needs a real signal");
    int64_t frames = 1 + (signal - len) / step;
    int64_t bins = onesided_ ? len / 2 + 1 : len;
    Tensor& y = ctx.allocate(0, x.dtype(), {batch, frames, bins, 2});
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data<T>();
      const T* w = window ? window->data<T>() : nullptr;
      T* out = y.data<T>();
      std::vector<cd> sig(static_cast<size_t>(len)), res;
      int64_t comps = complex_in ? 2 : 1;
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t f = 0; f < frames; ++f) {
          for (int64_t j = 0; j < len; ++j) {
            const T* e = in + (b * signal + f * step + j) * comps;
            double scale = w ? to_double(w[j]) : 1.0;
            sig[j] = cd(to_double(e[0]), complex_in ? to_double(e[1]) : 0.0) * scale;
          }
          dft(sig, len, bins, false, res);
          for (int64_t k = 0; k < bins; ++k) {
            T* e = out + ((b * frames + f) * bins + k) * 2;
            e[0] = from_double<T>(res[k].real());
            e[1] = from_double<T>(res[k].imag());
          }
        }
      }
    });
  }

 private:
  bool onesided_;
};

DType output_datatype(const KernelInfo& info) {
  DType d;
  if (!dtype_from_int(static_cast<int32_t>(info.node.attr_int("output_datatype", 1)), &d) ||
      !(is_floating(d) || is_integer(d))) {
    info.fail(ErrorKind::InvalidModel, "output_datatype is not a numeric element type");
  }
  return d;
}

// Generalised cosine windows: w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), with
// N = size (periodic) or size - 1 (symmetric).
class WindowKernel final : public Kernel {
 public:
  WindowKernel(const KernelInfo& info, double a0, double a1, double a2)
      : a0_(a0),
        a1_(a1),
        a2_(a2),
        periodic_(info.node.attr_int("periodic", 1) != 0),
        dtype_(output_datatype(info)) {}
  void compute(KernelContext& ctx) override {
    int64_t n = scalar_int(ctx, 0);
    if (n < 0) ctx.fail(ctx.input_name(0), " must not be negative");
    Tensor& y = ctx.allocate(0, dtype_, {n});
    double denom = periodic_ ? static_cast<double>(n) : static_cast<double>(n - 1);
    visit_numeric(dtype_, [&](auto tag) {
      using T = decltype(tag);
      T* out = y.data<T>();
      for (int64_t i = 0; i < n; ++i) {
        double x = denom > 0 ? 2.0 * M_PI * static_cast<double>(i) / denom : 0.0;
        double w = a0_ - a1_ * std::cos(x) + a2_ * std::cos(2.0 * x);
        out[i] = static_cast<T>(static_cast<compute_t<T>>(w));
      }
    });
  }

 private:
  double a0_, a1_, a2_;
  bool periodic_;
  DType dtype_;
};

std::unique_ptr<Kernel> hann(const KernelInfo& i) {
  return std::make_unique<WindowKernel>(i, 0.5, 0.5, 0.0);
}
std::unique_ptr<Kernel> hamming(const KernelInfo& i) {
  return std::make_unique<WindowKernel>(i, 25.0 / 46.0, 21.0 / 46.0, 0.0);
}
std::unique_ptr<Kernel> blackman(const KernelInfo& i) {
  return std::make_unique<WindowKernel>(i, 0.42, 0.5, 0.08);
}

// MelWeightMatrix: [dft_length / 2 + 1, num_mel_bins] triangular filters spaced evenly on
// the mel scale between the lower and upper edge frequencies.
class MelWeightMatrixKernel final : public Kernel {
 public:
  explicit MelWeightMatrixKernel(const KernelInfo& info) : dtype_(output_datatype(info)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<MelWeightMatrixKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    int64_t mel_bins = scalar_int(ctx, 0), dft_length = scalar_int(ctx, 1),
            rate = scalar_int(ctx, 2);
    double lo = ctx.input(3).element_as_double(0), hi = ctx.input(4).element_as_double(0);
    if (mel_bins < 1 || dft_length < 1 || rate < 1)
      ctx.fail("bins, dft length and sample rate must be positive");
    if (!(lo >= 0 && hi > lo && hi <= rate / 2.0 + 1e-9)) {
      ctx.fail("edge frequencies must satisfy 0 <= lower < upper <= sample_rate / 2");
    }
    int64_t spec_bins = dft_length / 2 + 1;
    auto to_mel = [](double f) { return 2595.0 * std::log10(1.0 + f / 700.0); };
    double lo_mel = to_mel(lo), step = (to_mel(hi) - lo_mel) / static_cast<double>(mel_bins + 2);
    std::vector<int64_t> edge(static_cast<size_t>(mel_bins + 2));
    for (int64_t i = 0; i < mel_bins + 2; ++i) {
      double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + lo_mel) / 2595.0) - 1.0);
      edge[i] = static_cast<int64_t>(
          std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(rate)));
      edge[i] = std::min(std::max<int64_t>(edge[i], 0), spec_bins - 1);
    }
    std::vector<double> w(static_cast<size_t>(spec_bins * mel_bins), 0.0);
    for (int64_t m = 0; m < mel_bins; ++m) {
      int64_t left = edge[m], center = edge[m + 1], right = edge[m + 2];
      if (center == left) {
        w[center * mel_bins + m] = 1.0;
      } else {
        for (int64_t j = left; j <= center; ++j)
          w[j * mel_bins + m] = double(j - left) / double(center - left);
      }
      for (int64_t j = center; j < right; ++j)
        w[j * mel_bins + m] = double(right - j) / double(right - center);
    }
    Tensor& y = ctx.allocate(0, dtype_, {spec_bins, mel_bins});
    visit_numeric(dtype_, [&](auto tag) {
      using T = decltype(tag);
      for (size_t i = 0; i < w.size(); ++i)
        y.data<T>()[i] = static_cast<T>(static_cast<compute_t<T>>(w[i]));
    });
  }

 private:
  DType dtype_;
};

constexpr KernelDef kDefs[] = {
    {"", "HannWindow", 17, kLatest, &hann},
    {"", "HammingWindow", 17, kLatest, &hamming},
    {"", "BlackmanWindow", 17, kLatest, &blackman},
    {"", "MelWeightMatrix", 17, kLatest, &MelWeightMatrixKernel::make},
    {"", "DFT", 17, kLatest, &DftKernel::make},
    {"", "STFT", 17, kLatest, &StftKernel::make},
};

}  // namespace

void register_signal_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
