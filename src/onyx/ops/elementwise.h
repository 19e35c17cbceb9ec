// Building blocks for elementwise kernels: type classes, a flat parallel unary map and
// broadcasting binary/ternary maps. The op itself is a small functor over compute types.
#pragma once

#include <type_traits>

#include "onyx/ops/broadcast.h"
#include "onyx/ops/kernel.h"

namespace onyx::ops {

// Which element types an elementwise op accepts.
enum class Types { Float, SignedOrFloat, Numeric, Integer, Bool };

template <Types C, typename F>
void visit_types(DType t, const KernelContext& ctx, F&& f) {
  bool ok = false;
  switch (C) {
    case Types::Float:
      ok = is_floating(t);
      break;
    case Types::SignedOrFloat:
      ok = is_floating(t) || is_signed_int(t);
      break;
    case Types::Numeric:
      ok = is_floating(t) || is_integer(t);
      break;
    case Types::Integer:
      ok = is_integer(t);
      break;
    case Types::Bool:
      ok = t == DType::Bool;
      break;
  }
  if (!ok) ctx.fail("element type ", dtype_name(t), " is not supported by this op");
  if constexpr (C == Types::Bool) {
    f(bool{});
  } else if constexpr (C == Types::Float) {
    visit_float(t, f);
  } else if constexpr (C == Types::Integer) {
    visit_integer(t, f);
  } else {
    visit_numeric(t, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) f(tag);
    });
  }
}

constexpr int64_t kElementwiseGrain = 1 << 14;

// y[i] = op(x[i]) with op over compute types; In/Out are storage types.
template <typename In, typename Out, typename Op>
void map_unary(const Tensor& x, Tensor& y, ThreadPool& pool, const Op& op) {
  const In* xp = x.data<In>();
  Out* yp = y.data<Out>();
  pool.parallel_for(x.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    // A copy of the op: its parameters (LeakyRelu's alpha) are then locals the stores
    // cannot alias, so the loop vectorises (through `op` it ran scalar, 40x slower).
    const Op f = op;
    for (int64_t i = b; i < e; ++i) {
      yp[i] = static_cast<Out>(f(static_cast<compute_t<In>>(xp[i])));
    }
  });
}

// Output shape of broadcasting all inputs; fails naming the node on mismatch.
Shape broadcast_inputs(const KernelContext& ctx, std::initializer_list<size_t> inputs);

// out = op(a, b) with NumPy broadcasting. A, B, Out are storage types.
template <typename A, typename B, typename Out, typename Op>
void map_binary(const Tensor& a, const Tensor& b, Tensor& out, ThreadPool& pool, const Op& op) {
  auto plan = plan_broadcast<2>({&a.shape(), &b.shape()}, out.shape());
  const A* ap = a.data<A>();
  const B* bp = b.data<B>();
  Out* op_ = out.data<Out>();
  for_each_broadcast_row(
      plan, pool,
      [&](int64_t o, const std::array<int64_t, 2>& off, int64_t n,
          const std::array<int64_t, 2>& st) {
        const A* pa = ap + off[0];
        const B* pb = bp + off[1];
        Out* po = op_ + o;
        using CA = compute_t<A>;
        using CB = compute_t<B>;
        if (st[0] == 1 && st[1] == 1) {
          for (int64_t i = 0; i < n; ++i)
            po[i] = static_cast<Out>(op(static_cast<CA>(pa[i]), static_cast<CB>(pb[i])));
        } else if (st[0] == 0 && st[1] == 1) {
          CA va = static_cast<CA>(pa[0]);
          for (int64_t i = 0; i < n; ++i) po[i] = static_cast<Out>(op(va, static_cast<CB>(pb[i])));
        } else if (st[0] == 1 && st[1] == 0) {
          CB vb = static_cast<CB>(pb[0]);
          for (int64_t i = 0; i < n; ++i) po[i] = static_cast<Out>(op(static_cast<CA>(pa[i]), vb));
        } else {
          for (int64_t i = 0; i < n; ++i) {
            po[i] = static_cast<Out>(
                op(static_cast<CA>(pa[i * st[0]]), static_cast<CB>(pb[i * st[1]])));
          }
        }
      });
}

// Unary op kernel: Op is a functor, constructed from KernelInfo when it has attributes.
template <typename Op, Types C>
class UnaryKernel final : public Kernel {
 public:
  explicit UnaryKernel(const KernelInfo& info) : op_(make_op(info)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    return std::make_unique<UnaryKernel>(info);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    visit_types<C>(x.dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      map_unary<T, T>(x, y, ctx.pool(), op_);
    });
  }

 private:
  static Op make_op(const KernelInfo& info) {
    if constexpr (std::is_constructible_v<Op, const KernelInfo&>)
      return Op(info);
    else
      return Op();
  }
  Op op_;
};

}  // namespace onyx::ops
