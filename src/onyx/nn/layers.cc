#include "onyx/nn/layers.h"

#include <cmath>

#include "onyx/onnx/checker.h"
#include "onyx/onnx/model_io.h"
#include "onyx/runtime/session.h"

namespace onyx::nn {

namespace {

using ir::attr;

Tensor uniform(std::mt19937_64& rng, const Shape& shape, double bound) {
  std::uniform_real_distribution<double> d(-bound, bound);
  Tensor t = Tensor::empty(DType::Float32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(d(rng));
  return t;
}

Tensor normal(std::mt19937_64& rng, const Shape& shape, double stddev) {
  std::normal_distribution<double> d(0.0, stddev);
  Tensor t = Tensor::empty(DType::Float32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(d(rng));
  return t;
}

Tensor filled(const Shape& shape, float v) {
  Tensor t = Tensor::empty(DType::Float32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v;
  return t;
}

// A weight [out, in, k...] with fans as PyTorch computes them.
Tensor weight(std::mt19937_64& rng, const Shape& shape, Init init) {
  int64_t receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  double fan_in = static_cast<double>(shape[1] * receptive);
  double fan_out = static_cast<double>(shape[0] * receptive);
  switch (init) {
    case Init::Default:
      return uniform(rng, shape, 1.0 / std::sqrt(fan_in));
    case Init::KaimingUniform:
      return uniform(rng, shape, std::sqrt(6.0 / fan_in));
    case Init::KaimingNormal:
      return normal(rng, shape, std::sqrt(2.0 / fan_in));
    case Init::XavierUniform:
      return uniform(rng, shape, std::sqrt(6.0 / (fan_in + fan_out)));
    case Init::XavierNormal:
      return normal(rng, shape, std::sqrt(2.0 / (fan_in + fan_out)));
  }
  fail(ErrorKind::InvalidArgument, "unknown initialisation");
}

std::string fmt(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

class LinearLayer final : public Module {
 public:
  LinearLayer(int64_t in, int64_t out, LinearOptions o) : in_(in), out_(out), o_(o) {
    if (in < 1 || out < 1) fail(ErrorKind::InvalidArgument, "Linear: sizes must be positive");
  }
  std::string build(BuildContext& ctx, const std::string& x) const override {
    // PyTorch's layout, weight [out, in]: Gemm with transB.
    std::string w = ctx.parameter("weight", weight(ctx.rng, {out_, in_}, o_.init));
    std::vector<std::string> inputs{x, w};
    if (o_.bias) {
      inputs.push_back(ctx.parameter(
          "bias", uniform(ctx.rng, {out_}, 1.0 / std::sqrt(static_cast<double>(in_)))));
    }
    return ctx.graph.op("Gemm", inputs, {attr("transB", int64_t{1})});
  }
  std::string describe() const override {
    return cat("Linear(", in_, ", ", out_, o_.bias ? "" : ", bias=False", ")");
  }

 private:
  int64_t in_, out_;
  LinearOptions o_;
};

class Conv2dLayer final : public Module {
 public:
  Conv2dLayer(int64_t in, int64_t out, int64_t k, Conv2dOptions o)
      : in_(in), out_(out), k_(k), o_(o) {
    if (in < 1 || out < 1 || k < 1 || o.stride < 1 || o.dilation < 1 || o.groups < 1 ||
        o.padding < 0 || in % o.groups || out % o.groups) {
      fail(ErrorKind::InvalidArgument, "Conv2d(", in, ", ", out, ", ", k,
           "): sizes must be positive and channels divisible by groups");
    }
  }
  std::string build(BuildContext& ctx, const std::string& x) const override {
    int64_t cg = in_ / o_.groups;
    std::string w = ctx.parameter("weight", weight(ctx.rng, {out_, cg, k_, k_}, o_.init));
    std::vector<std::string> inputs{x, w};
    if (o_.bias) {
      double bound = 1.0 / std::sqrt(static_cast<double>(cg * k_ * k_));
      inputs.push_back(ctx.parameter("bias", uniform(ctx.rng, {out_}, bound)));
    }
    using V = std::vector<int64_t>;
    return ctx.graph.op("Conv", inputs,
                        {attr("kernel_shape", V{k_, k_}), attr("strides", V{o_.stride, o_.stride}),
                         attr("pads", V{o_.padding, o_.padding, o_.padding, o_.padding}),
                         attr("dilations", V{o_.dilation, o_.dilation}), attr("group", o_.groups)});
  }
  std::string describe() const override {
    return cat("Conv2d(", in_, ", ", out_, ", kernel_size=", k_, ", stride=", o_.stride,
               ", padding=", o_.padding, o_.groups > 1 ? cat(", groups=", o_.groups) : "", ")");
  }

 private:
  int64_t in_, out_, k_;
  Conv2dOptions o_;
};

class PoolLayer final : public Module {
 public:
  PoolLayer(const char* op, int64_t k, int64_t stride, int64_t padding)
      : op_(op), k_(k), stride_(stride ? stride : k), padding_(padding) {
    if (k < 1 || stride_ < 1 || padding < 0 || 2 * padding > k) {
      fail(ErrorKind::InvalidArgument, op,
           ": kernel and stride must be positive, padding at most "
           "half the kernel");
    }
  }
  std::string build(BuildContext& ctx, const std::string& x) const override {
    using V = std::vector<int64_t>;
    std::vector<ir::Attribute> attrs{attr("kernel_shape", V{k_, k_}),
                                     attr("strides", V{stride_, stride_}),
                                     attr("pads", V{padding_, padding_, padding_, padding_})};
    // PyTorch's AvgPool2d counts padding in the divisor by default.
    if (op_ == "AveragePool") attrs.push_back(attr("count_include_pad", int64_t{1}));
    return ctx.graph.op(op_, {x}, attrs);
  }
  std::string describe() const override {
    return cat(op_ == "MaxPool" ? "MaxPool2d(" : "AvgPool2d(", k_, ", stride=", stride_,
               ", padding=", padding_, ")");
  }

 private:
  std::string op_;
  int64_t k_, stride_, padding_;
};

class BatchNormLayer final : public Module {
 public:
  BatchNormLayer(int64_t n, double eps, double momentum) : n_(n), eps_(eps), momentum_(momentum) {
    if (n < 1 || eps <= 0 || momentum < 0 || momentum > 1) {
      fail(ErrorKind::InvalidArgument, "BatchNorm2d(", n, "): bad arguments");
    }
  }
  std::string build(BuildContext& ctx, const std::string& x) const override {
    std::vector<std::string> in{x, ctx.parameter("weight", filled({n_}, 1)),
                                ctx.parameter("bias", filled({n_}, 0)),
                                ctx.parameter("running_mean", filled({n_}, 0)),
                                ctx.parameter("running_var", filled({n_}, 1))};
    // ONNX's momentum weighs the old statistics: PyTorch's 0.1 is ONNX's 0.9.
    return ctx.graph.op("BatchNormalization", in,
                        {attr("epsilon", static_cast<float>(eps_)),
                         attr("momentum", static_cast<float>(1 - momentum_))});
  }
  std::string describe() const override { return cat("BatchNorm2d(", n_, ")"); }

 private:
  int64_t n_;
  double eps_, momentum_;
};

class DropoutLayer final : public Module {
 public:
  explicit DropoutLayer(double p) : p_(p) {
    if (p < 0 || p >= 1) fail(ErrorKind::InvalidArgument, "Dropout(", p, "): p must be in [0, 1)");
  }
  std::string build(BuildContext& ctx, const std::string& x) const override {
    // Inference mode in the model; a training step switches it on (make-training).
    std::string ratio =
        ctx.graph.constant(ctx.prefix + "p", Tensor::scalar<float>(static_cast<float>(p_)));
    return ctx.graph.op("Dropout", {x, ratio});
  }
  std::string describe() const override { return cat("Dropout(p=", fmt(p_), ")"); }

 private:
  double p_;
};

// A layer that is one parameter-free op.
class OpLayer final : public Module {
 public:
  OpLayer(std::string label, std::string op, std::vector<ir::Attribute> attrs = {})
      : label_(std::move(label)), op_(std::move(op)), attrs_(std::move(attrs)) {}
  std::string build(BuildContext& ctx, const std::string& x) const override {
    return ctx.graph.op(op_, {x}, attrs_);
  }
  std::string describe() const override { return label_; }

 private:
  std::string label_, op_;
  std::vector<ir::Attribute> attrs_;
};

class GeluLayer final : public Module {
 public:
  std::string build(BuildContext& ctx, const std::string& x) const override {
    auto c = [&](float v) { return ctx.graph.constant("c", Tensor::scalar<float>(v)); };
    ir::GraphBuilder& b = ctx.graph;
    std::string erf = b.op("Erf", {b.op("Div", {x, c(static_cast<float>(std::sqrt(2.0)))})});
    return b.op("Mul", {b.op("Mul", {x, b.op("Add", {erf, c(1)})}), c(0.5f)});
  }
  std::string describe() const override { return "GELU()"; }
};

}  // namespace

std::string BuildContext::parameter(const std::string& name, Tensor value) {
  std::string full = prefix + name;
  std::string got = graph.constant(full, std::move(value));
  if (got != full) fail(ErrorKind::InvalidArgument, "parameter name '", full, "' is taken");
  return got;
}

Layer Linear(int64_t in, int64_t out, LinearOptions o) {
  return std::make_shared<LinearLayer>(in, out, o);
}
Layer Conv2d(int64_t in, int64_t out, int64_t k, Conv2dOptions o) {
  return std::make_shared<Conv2dLayer>(in, out, k, o);
}
Layer MaxPool2d(int64_t k, int64_t stride, int64_t padding) {
  return std::make_shared<PoolLayer>("MaxPool", k, stride, padding);
}
Layer AvgPool2d(int64_t k, int64_t stride, int64_t padding) {
  return std::make_shared<PoolLayer>("AveragePool", k, stride, padding);
}
Layer BatchNorm2d(int64_t n, double eps, double momentum) {
  return std::make_shared<BatchNormLayer>(n, eps, momentum);
}
Layer Dropout(double p) {
  return std::make_shared<DropoutLayer>(p);
}
Layer Flatten() {
  return std::make_shared<OpLayer>("Flatten()", "Flatten",
                                   std::vector<ir::Attribute>{attr("axis", int64_t{1})});
}
Layer ReLU() {
  return std::make_shared<OpLayer>("ReLU()", "Relu");
}
Layer LeakyReLU(double slope) {
  return std::make_shared<OpLayer>(
      cat("LeakyReLU(", fmt(slope), ")"), "LeakyRelu",
      std::vector<ir::Attribute>{attr("alpha", static_cast<float>(slope))});
}
Layer Sigmoid() {
  return std::make_shared<OpLayer>("Sigmoid()", "Sigmoid");
}
Layer Tanh() {
  return std::make_shared<OpLayer>("Tanh()", "Tanh");
}
Layer GELU() {
  return std::make_shared<GeluLayer>();
}
Layer Softmax(int64_t dim) {
  return std::make_shared<OpLayer>(cat("Softmax(dim=", dim, ")"), "Softmax",
                                   std::vector<ir::Attribute>{attr("axis", dim)});
}
Layer LogSoftmax(int64_t dim) {
  return std::make_shared<OpLayer>(cat("LogSoftmax(dim=", dim, ")"), "LogSoftmax",
                                   std::vector<ir::Attribute>{attr("axis", dim)});
}

ir::Model Sequential::to_onnx(const std::vector<int64_t>& input_shape, uint64_t seed) const {
  if (layers_.empty()) fail(ErrorKind::InvalidArgument, "Sequential: no layers");
  ir::Model m;
  m.set_opset("", 17);
  m.producer_name = "onyx";
  m.graph->name = "sequential";
  ir::GraphBuilder b(*m.graph);
  std::vector<ir::Dim> dims{{std::nullopt, "N", ""}};
  for (int64_t d : input_shape) {
    if (d < 1) fail(ErrorKind::InvalidArgument, "Sequential: input dimensions must be positive");
    dims.push_back({d, "", ""});
  }
  std::string x = b.input("input", ir::TypeInfo::tensor(DType::Float32, dims));
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < layers_.size(); ++i) {
    BuildContext ctx{b, rng, std::to_string(i) + ".", 17};
    x = layers_[i]->build(ctx, x);
  }
  // The last node writes "output".
  for (auto& o : m.graph->nodes.back().outputs) {
    if (o == x) o = "output";
  }
  b.output("output");
  // Layers whose sizes do not fit together (a Linear after a Flatten of another size)
  // are caught here by one run on a zero sample, naming the node, not at first use.
  try {
    Shape one{1};
    one.insert(one.end(), input_shape.begin(), input_shape.end());
    runtime::Session(m).run({{"input", Tensor::zeros(DType::Float32, one)}});
  } catch (const Error& e) {
    fail(ErrorKind::InvalidArgument, "Sequential: the layers do not fit together: ", e.what());
  }
  auto types = onnx_io::infer_value_types(m);
  auto it = types.find("output");
  if (it != types.end()) m.graph->outputs[0].type = it->second;
  return m;
}

void Sequential::save(const std::string& path, const std::vector<int64_t>& input_shape,
                      uint64_t seed) const {
  onnx_io::save_model(to_onnx(input_shape, seed), path);
}

std::string Sequential::describe() const {
  std::string s = "Sequential(\n";
  for (size_t i = 0; i < layers_.size(); ++i)
    s += cat("  (", i, "): ", layers_[i]->describe(), "\n");
  return s + ")";
}

}  // namespace onyx::nn
