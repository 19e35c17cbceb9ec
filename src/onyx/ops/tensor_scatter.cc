// TensorScatter (opset 24): the KV-cache update of decoder attention. `update` is written
// into (a copy of) `past_cache` along the sequence axis, starting at each batch's write
// index; circular mode wraps the index around max_sequence_length. Elements are only
// moved, never read as numbers, so every element type works (strings, narrow types).
#include <algorithm>
#include <string>
#include <vector>

#include "onyx/ops/registry.h"
#include "onyx/ops/strided.h"

namespace onyx::ops {

namespace {

class TensorScatterKernel final : public Kernel {
 public:
  explicit TensorScatterKernel(const KernelInfo& info) : axis_(info.node.attr_int("axis", -2)) {
    std::string mode = info.node.attr_string("mode", "linear");
    if (mode != "linear" && mode != "circular") {
      info.fail(ErrorKind::InvalidModel, "mode must be linear or circular, not '", mode, "'");
    }
    circular_ = mode == "circular";
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<TensorScatterKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& past = ctx.input(0);
    // A handle of our own: if past_cache and update were one value, the input slot could
    // be emptied by output_from_input below; holding it also stops that reuse.
    Tensor update = ctx.input(1);
    Shape shape = past.shape();
    int64_t rank = past.rank();
    if (rank < 2) {
      ctx.fail(ctx.input_name(0), " has shape ", shape_str(shape),
               ", expected rank 2 or more (a batch axis and a sequence axis)");
    }
    int64_t axis = normalize_axis(axis_, rank);
    if (axis == 0) ctx.fail("axis ", axis_, " is the batch axis; the sequence axis cannot be 0");
    if (update.dtype() != past.dtype()) {
      ctx.fail(ctx.input_name(1), " is ", dtype_name(update.dtype()), ", expected ",
               dtype_name(past.dtype()), " like past_cache");
    }
    int64_t max_seq = shape[axis];
    Shape want = shape;
    if (update.rank() == rank) want[axis] = update.dim(axis);
    if (update.shape() != want || want[axis] > max_seq) {
      ctx.fail(ctx.input_name(1), " has shape ", shape_str(update.shape()),
               ", expected past_cache's ", shape_str(shape), " except along axis ", axis,
               " (at most ", max_seq, ")");
    }
    int64_t seq = update.dim(axis), batch = shape[0];
    std::vector<int64_t> start = write_indices(ctx, batch, seq, max_seq);

    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= shape[d];
    Tensor& present = ctx.output_from_input(0, 0);  // past may be gone now: use `shape`
    if (seq == 0 || inner == 0 || outer == 0) return;
    int64_t per_batch = outer / batch;  // prefix positions [batch, D1, ...] per batch entry
    for (int64_t o = 0; o < outer; ++o) {
      int64_t w = start[static_cast<size_t>(o / per_batch)];
      int64_t src = o * seq * inner, dst = o * max_seq * inner;
      // The run is contiguous up to the end of the axis; in circular mode the rest (seq <=
      // max_seq, so it wraps at most once) goes to the front. Linear runs never reach it.
      int64_t head = std::min(seq, max_seq - w);
      copy_elements(update, src, present, dst + w * inner, head * inner);
      copy_elements(update, src + head * inner, present, dst, (seq - head) * inner);
    }
  }

 private:
  // Each batch entry's first write position, checked (linear) or wrapped (circular).
  std::vector<int64_t> write_indices(const KernelContext& ctx, int64_t batch, int64_t seq,
                                     int64_t max_seq) const {
    std::vector<int64_t> start(static_cast<size_t>(batch), 0);  // absent: all zeros
    if (ctx.has_input(2)) {
      const Tensor& w = ctx.input(2);
      if (w.dtype() != DType::Int64 || w.shape() != Shape{batch}) {
        ctx.fail(ctx.input_name(2), " is ", dtype_name(w.dtype()), " of shape ",
                 shape_str(w.shape()), ", expected int64 of shape [", batch, "] (the batch size)");
      }
      start = w.to_vector<int64_t>();
    }
    for (int64_t b = 0; b < batch; ++b) {
      int64_t& w = start[static_cast<size_t>(b)];
      if (circular_) {
        if (max_seq > 0) w = (w % max_seq + max_seq) % max_seq;  // NumPy's mod: never negative
      } else if (w < 0 || w > max_seq - seq) {
        ctx.fail("write_indices[", b, "] = ", w, " leaves no room for ", seq,
                 " positions in a sequence axis of ", max_seq, " (linear mode)");
      }
    }
    return start;
  }

  int64_t axis_;
  bool circular_ = false;
};

constexpr KernelDef kDefs[] = {
    {"", "TensorScatter", 24, kLatest, &TensorScatterKernel::make},
};

}  // namespace

void register_tensor_scatter_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
