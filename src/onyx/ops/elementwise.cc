#include "onyx/ops/elementwise.h"

namespace onyx::ops {

Shape broadcast_inputs(const KernelContext& ctx, std::initializer_list<size_t> inputs) {
  Shape out;
  bool first = true;
  for (size_t i : inputs) {
    const Shape& s = ctx.input(i).shape();
    if (first) {
      out = s;
      first = false;
      continue;
    }
    Shape next;
    if (!broadcast_shapes(out, s, &next)) {
      ctx.fail(ctx.input_name(i), " of shape ", shape_str(s), " does not broadcast with ",
               shape_str(out));
    }
    out = std::move(next);
  }
  return out;
}

}  // namespace onyx::ops
