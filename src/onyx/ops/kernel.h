// The kernel interface. A Kernel is made once per node when a session is planned (it
// reads and checks attributes then) and computes many times. Kernels see tensors and the
// thread pool, never files or protos.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "onyx/core/buffer.h"
#include "onyx/core/thread_pool.h"
#include "onyx/core/value.h"
#include "onyx/ir/graph.h"

namespace onyx::ops {

class KernelContext;

// Something that can run a subgraph (If/Loop/Scan bodies); made by the runtime.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  // Runs with the given graph inputs; outer-scope values come from `ctx`'s frame.
  virtual std::vector<Value> run(KernelContext& ctx, const std::vector<Value>& inputs) = 0;
};

struct KernelInfo {
  const ir::Node& node;
  int64_t opset;  // version imported for the node's domain
  // Inputs whose values are known when planning (initializers, constants); null otherwise.
  std::vector<const Tensor*> constant_inputs;
  // Plans a subgraph attribute for execution inside this node.
  std::function<std::unique_ptr<SubgraphRunner>(const ir::Graph&)> compile_subgraph;

  template <typename... Args>
  [[noreturn]] void fail(ErrorKind kind, Args&&... args) const {
    onyx::fail(kind, node.describe(), ": ", std::forward<Args>(args)...);
  }
};

class KernelContext {
 public:
  KernelContext(const ir::Node& node, std::span<Value* const> inputs,
                std::span<Value* const> outputs, ThreadPool& pool, BufferPool* buffers, void* frame)
      : node_(node),
        inputs_(inputs),
        outputs_(outputs),
        pool_(pool),
        buffers_(buffers),
        frame_(frame) {}

  const ir::Node& node() const { return node_; }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  bool has_input(size_t i) const {
    return i < inputs_.size() && inputs_[i] && !inputs_[i]->empty();
  }
  const Value& input_value(size_t i) const;
  // Input i as a tensor; throws (naming node and input) when absent or not a tensor.
  const Tensor& input(size_t i) const;
  bool needs_output(size_t i) const { return i < outputs_.size() && outputs_[i] != nullptr; }

  // Allocates output i (reusing pooled memory) and returns it for the kernel to fill.
  Tensor& allocate(size_t i, DType dtype, const Shape& shape);
  // Output `out` as input `in` itself, for kernels that would copy an input and change a
  // few elements (ScatterElements): possible when this node is the input's last reader and
  // no other value shares its buffer. Null otherwise, and then the kernel copies; after a
  // non-null return, input `in` is gone.
  Tensor* reuse_input(size_t in, size_t out);
  // Output `out` holding input `in`'s values, for kernels that then change some of them:
  // the input's own buffer when reuse_input allows (input `in` is then gone), else a copy.
  Tensor& output_from_input(size_t in, size_t out);
  // Which inputs this node reads last (set by the runtime; none when not set).
  void set_last_reads(const std::vector<char>* last) { last_reads_ = last; }
  void set_output(size_t i, Value value);
  // A scratch tensor from the pool, for a kernel's temporary buffers.
  Tensor scratch(DType dtype, const Shape& shape) { return Tensor::empty(dtype, shape, buffers_); }

  ThreadPool& pool() { return pool_; }
  void* frame() const { return frame_; }

  template <typename... Args>
  [[noreturn]] void fail(Args&&... args) const {
    onyx::fail(ErrorKind::InvalidArgument, node_.describe(), ": ", std::forward<Args>(args)...);
  }
  // "input 'X' (0)": how errors name an input.
  std::string input_name(size_t i) const;

 private:
  const ir::Node& node_;
  std::span<Value* const> inputs_;
  std::span<Value* const> outputs_;
  ThreadPool& pool_;
  BufferPool* buffers_;
  void* frame_;
  const std::vector<char>* last_reads_ = nullptr;
  // Tensors for the outputs the graph does not use, one per output (a kernel may fill
  // several at once, as RNN's Y and Y_h), dropped with the context.
  std::vector<std::unique_ptr<Value>> discarded_;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void compute(KernelContext& ctx) = 0;
};

using KernelFactory = std::unique_ptr<Kernel> (*)(const KernelInfo& info);

// A kernel made from a plain function, for ops with no attributes worth caching.
template <void (*Fn)(KernelContext&)>
class FnKernel final : public Kernel {
 public:
  void compute(KernelContext& ctx) override { Fn(ctx); }
  static std::unique_ptr<Kernel> make(const KernelInfo&) { return std::make_unique<FnKernel>(); }
};

constexpr int kLatest = 1000;

struct KernelDef {
  const char* domain;  // "" for ai.onnx
  const char* op_type;
  int since;  // first opset version (of the domain) this kernel implements
  int until;  // last one, inclusive
  KernelFactory make;
};

}  // namespace onyx::ops
