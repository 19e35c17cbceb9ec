// Sequence and optional ops. Sequences are Values holding tensor Values; positions may be
// negative (counted from the end) and are checked against the length.
#include <cstring>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

const std::vector<Value>& seq_input(const KernelContext& ctx, size_t i) {
  const Value& v = ctx.input_value(i);
  if (!v.is_sequence()) ctx.fail(ctx.input_name(i), " must be a sequence");
  return v.items();
}

int64_t position(const KernelContext& ctx, size_t i, int64_t size, bool allow_end) {
  const Tensor& p = ctx.input(i);
  if (p.numel() != 1 || !is_integer(p.dtype()))
    ctx.fail(ctx.input_name(i), " must be a scalar integer");
  int64_t pos = p.to_int64s()[0];
  int64_t hi = allow_end ? size : size - 1;
  if (pos < -size || pos > hi) {
    ctx.fail(ctx.input_name(i), " position ", pos, " is out of range for a sequence of ", size);
  }
  return pos < 0 ? pos + size : pos;
}

class SequenceEmptyKernel final : public Kernel {
 public:
  explicit SequenceEmptyKernel(const KernelInfo&) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<SequenceEmptyKernel>(i);
  }
  void compute(KernelContext& ctx) override { ctx.set_output(0, Value::sequence({})); }
};

void sequence_construct(KernelContext& ctx) {
  std::vector<Value> items;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (i && t.dtype() != ctx.input(0).dtype()) ctx.fail("all inputs must have one element type");
    items.emplace_back(t);
  }
  ctx.set_output(0, Value::sequence(std::move(items)));
}

void sequence_at(KernelContext& ctx) {
  const auto& items = seq_input(ctx, 0);
  ctx.set_output(0, items[position(ctx, 1, static_cast<int64_t>(items.size()), false)]);
}

void sequence_insert(KernelContext& ctx) {
  std::vector<Value> items = seq_input(ctx, 0);
  const Tensor& t = ctx.input(1);
  if (!items.empty() && items[0].is_tensor() && items[0].tensor().dtype() != t.dtype()) {
    ctx.fail("tensor type ", dtype_name(t.dtype()), " differs from the sequence's");
  }
  int64_t pos = ctx.has_input(2) ? position(ctx, 2, static_cast<int64_t>(items.size()), true)
                                 : static_cast<int64_t>(items.size());
  items.insert(items.begin() + pos, Value(t));
  ctx.set_output(0, Value::sequence(std::move(items)));
}

void sequence_erase(KernelContext& ctx) {
  std::vector<Value> items = seq_input(ctx, 0);
  if (items.empty()) ctx.fail("cannot erase from an empty sequence");
  int64_t pos = ctx.has_input(1) ? position(ctx, 1, static_cast<int64_t>(items.size()), false)
                                 : static_cast<int64_t>(items.size()) - 1;
  items.erase(items.begin() + pos);
  ctx.set_output(0, Value::sequence(std::move(items)));
}

void sequence_length(KernelContext& ctx) {
  ctx.set_output(0, Tensor::scalar<int64_t>(static_cast<int64_t>(seq_input(ctx, 0).size())));
}

// Copies t[..., begin:end, ...] along axis.
Tensor slice_axis(const Tensor& t, int64_t axis, int64_t begin, int64_t end) {
  Shape s = t.shape();
  s[axis] = end - begin;
  Tensor out = Tensor::empty(t.dtype(), s);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= t.dim(d);
  for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
  int64_t n = t.dim(axis), m = end - begin;
  if (t.dtype() == DType::String) {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < m * inner; ++k)
        out.data<std::string>()[o * m * inner + k] =
            t.data<std::string>()[(o * n + begin) * inner + k];
    return out;
  }
  size_t es = dtype_size(t.dtype());
  for (int64_t o = 0; o < outer; ++o) {
    std::memcpy(static_cast<char*>(out.raw_data()) + o * m * inner * es,
                static_cast<const char*>(t.raw_data()) + (o * n + begin) * inner * es,
                m * inner * es);
  }
  return out;
}

class SplitToSequenceKernel final : public Kernel {
 public:
  explicit SplitToSequenceKernel(const KernelInfo& info)
      : axis_(info.node.attr_int("axis", 0)), keepdims_(info.node.attr_int("keepdims", 1) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<SplitToSequenceKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t axis = normalize_axis(axis_, x.rank());
    int64_t len = x.dim(axis);
    std::vector<int64_t> sizes;
    bool squeeze = false;
    if (!ctx.has_input(1)) {
      sizes.assign(static_cast<size_t>(len), 1);
      squeeze = !keepdims_;
    } else {
      const Tensor& split = ctx.input(1);
      std::vector<int64_t> v = split.to_int64s();
      if (split.rank() == 0) {
        if (v[0] <= 0) ctx.fail(ctx.input_name(1), " must be positive");
        for (int64_t at = 0; at < len; at += v[0]) sizes.push_back(std::min(v[0], len - at));
      } else {
        int64_t total = 0;
        for (int64_t s : v) {
          if (s < 0) ctx.fail(ctx.input_name(1), " has a negative size");
          total += s;
        }
        if (total != len) ctx.fail(ctx.input_name(1), " sums to ", total, ", the axis has ", len);
        sizes = v;
      }
    }
    std::vector<Value> items;
    int64_t at = 0;
    for (int64_t s : sizes) {
      Tensor part = slice_axis(x, axis, at, at + s);
      if (squeeze) {
        Shape sh = part.shape();
        sh.erase(sh.begin() + axis);
        part = part.reshape(sh);
      }
      items.emplace_back(part);
      at += s;
    }
    ctx.set_output(0, Value::sequence(std::move(items)));
  }

 private:
  int64_t axis_;
  bool keepdims_;
};

class ConcatFromSequenceKernel final : public Kernel {
 public:
  explicit ConcatFromSequenceKernel(const KernelInfo& info)
      : axis_(info.node.attr_int("axis", 0)), new_axis_(info.node.attr_int("new_axis", 0) != 0) {
    if (!info.node.has_attr("axis"))
      info.fail(ErrorKind::InvalidModel, "attribute 'axis' is required");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ConcatFromSequenceKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const auto& items = seq_input(ctx, 0);
    if (items.empty()) ctx.fail("cannot concatenate an empty sequence");
    const Tensor& first = items[0].tensor();
    int64_t rank = first.rank() + (new_axis_ ? 1 : 0);
    int64_t axis = normalize_axis(axis_, rank);
    std::vector<Tensor> parts;
    for (const auto& v : items) {
      Tensor t = v.tensor();
      if (new_axis_) {
        Shape s = t.shape();
        s.insert(s.begin() + axis, 1);
        t = t.reshape(s);
      }
      parts.push_back(t);
    }
    Shape out_shape = parts[0].shape();
    out_shape[axis] = 0;
    for (const auto& p : parts) {
      if (p.rank() != static_cast<int64_t>(out_shape.size()) || p.dtype() != first.dtype()) {
        ctx.fail("sequence items differ in rank or type");
      }
      for (int64_t d = 0; d < p.rank(); ++d) {
        if (d != axis && p.dim(d) != parts[0].dim(d))
          ctx.fail("sequence items differ in shape off the axis");
      }
      out_shape[axis] += p.dim(axis);
    }
    Tensor& out = ctx.allocate(0, first.dtype(), out_shape);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out_shape[d];
    for (int64_t d = axis + 1; d < static_cast<int64_t>(out_shape.size()); ++d)
      inner *= out_shape[d];
    int64_t out_row = out_shape[axis] * inner, offset = 0;
    for (const auto& p : parts) {
      int64_t row = p.dim(axis) * inner;
      for (int64_t o = 0; o < outer; ++o) {
        if (first.dtype() == DType::String) {
          for (int64_t k = 0; k < row; ++k)
            out.data<std::string>()[o * out_row + offset + k] = p.data<std::string>()[o * row + k];
        } else {
          size_t es = dtype_size(first.dtype());
          std::memcpy(static_cast<char*>(out.raw_data()) + (o * out_row + offset) * es,
                      static_cast<const char*>(p.raw_data()) + o * row * es, row * es);
        }
      }
      offset += row;
    }
  }

 private:
  int64_t axis_;
  bool new_axis_;
};

// SequenceMap: runs the body once per position; sequence inputs give their i-th item,
// tensor inputs are passed whole every time.
class SequenceMapKernel final : public Kernel {
 public:
  explicit SequenceMapKernel(const KernelInfo& info) {
    const ir::Attribute* a = info.node.find_attr("body");
    if (!a || !a->g) info.fail(ErrorKind::InvalidModel, "graph attribute 'body' is required");
    body_graph_ = a->g.get();
    body_ = info.compile_subgraph(*a->g);
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<SequenceMapKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    size_t n = seq_input(ctx, 0).size();
    for (size_t i = 1; i < ctx.num_inputs(); ++i) {
      const Value& v = ctx.input_value(i);
      if (v.is_sequence() && v.items().size() != n) ctx.fail("sequence inputs differ in length");
    }
    std::vector<std::vector<Value>> outs(ctx.num_outputs());
    for (size_t k = 0; k < n; ++k) {
      std::vector<Value> in;
      for (size_t i = 0; i < ctx.num_inputs(); ++i) {
        const Value& v = ctx.input_value(i);
        in.push_back(v.is_sequence() ? v.items()[k] : v);
      }
      auto r = body_->run(ctx, in);
      for (size_t j = 0; j < outs.size() && j < r.size(); ++j) outs[j].push_back(r[j]);
    }
    for (size_t j = 0; j < outs.size(); ++j) ctx.set_output(j, Value::sequence(std::move(outs[j])));
  }

 private:
  const ir::Graph* body_graph_ = nullptr;
  std::unique_ptr<SubgraphRunner> body_;
};

void optional_make(KernelContext& ctx) {
  if (ctx.has_input(0)) {
    ctx.set_output(0, Value::optional(std::make_shared<Value>(ctx.input_value(0))));
  } else {
    ctx.set_output(0, Value::optional(nullptr));
  }
}

void optional_has_element(KernelContext& ctx) {
  bool has = false;
  if (ctx.has_input(0)) {
    const Value& v = ctx.input_value(0);
    has = v.is_optional() ? v.inner() != nullptr : true;
  }
  ctx.set_output(0, Tensor::scalar<bool>(has));
}

void optional_get_element(KernelContext& ctx) {
  const Value& v = ctx.input_value(0);
  if (!v.is_optional()) {
    ctx.set_output(0, v);  // opset 18 allows plain tensors and sequences
    return;
  }
  if (!v.inner()) ctx.fail(ctx.input_name(0), " is an empty optional");
  ctx.set_output(0, *v.inner());
}

constexpr KernelDef kDefs[] = {
    {"", "SequenceEmpty", 11, kLatest, &SequenceEmptyKernel::make},
    {"", "SequenceConstruct", 11, kLatest, &FnKernel<sequence_construct>::make},
    {"", "SequenceAt", 11, kLatest, &FnKernel<sequence_at>::make},
    {"", "SequenceInsert", 11, kLatest, &FnKernel<sequence_insert>::make},
    {"", "SequenceErase", 11, kLatest, &FnKernel<sequence_erase>::make},
    {"", "SequenceLength", 11, kLatest, &FnKernel<sequence_length>::make},
    {"", "SplitToSequence", 11, kLatest, &SplitToSequenceKernel::make},
    {"", "ConcatFromSequence", 11, kLatest, &ConcatFromSequenceKernel::make},
    {"", "SequenceMap", 17, kLatest, &SequenceMapKernel::make},
    {"", "Optional", 15, kLatest, &FnKernel<optional_make>::make},
    {"", "OptionalHasElement", 15, kLatest, &FnKernel<optional_has_element>::make},
    {"", "OptionalGetElement", 15, kLatest, &FnKernel<optional_get_element>::make},
};

}  // namespace

void register_sequence_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
