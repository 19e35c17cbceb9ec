// Gradient checking: one op, random float64 inputs, the gradient graph onyx builds
// (autodiff::build_gradient_model, run by the runtime) against central finite differences
// of sum(dy * y) for a random seed dy.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "onyx/autodiff/vjp.h"
#include "onyx/ir/builder.h"
#include "onyx/onnx/model_io.h"
#include "onyx/runtime/session.h"

namespace onyx::testing {

// One input of the op under test.
struct GradInput {
  Tensor value;
  bool differentiate = true;  // checked against finite differences
  bool constant = false;      // an initializer (axes, shapes, indices), not a graph input
};

inline Tensor random_tensor(Shape shape, double lo, double hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Tensor t = Tensor::empty(DType::Float64, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = dist(rng);
  return t;
}
inline GradInput rnd(Shape shape, double lo = -2, double hi = 2, uint32_t seed = 1) {
  return {random_tensor(std::move(shape), lo, hi, seed), true, false};
}
inline GradInput fixed(Tensor t) {
  return {std::move(t), true, false};
}
inline GradInput constant(Tensor t) {
  return {std::move(t), false, true};
}
inline GradInput no_grad(Tensor t) {
  return {std::move(t), false, false};
}

struct GradCheckOptions {
  size_t num_outputs = 1;
  // Outputs after these get a zero seed (BatchNormalization's running statistics, which
  // carry no gradient in PyTorch either).
  size_t seeded_outputs = 1000;
  int64_t opset = 17;
  // Inputs after the first `node_inputs` are graph inputs the node's subgraphs read by
  // name (If's branches), not node inputs.
  size_t node_inputs = 1000;
  double eps = 1e-6;
  double rtol = 1e-5;
  double atol = 1e-6;
  // The op's domain ("" for ONNX's own) and the opset the model imports for it
  // (ai.onnx.preview.FlexAttention: "ai.onnx.preview", 1). (Spelled with an initializer, as
  // the others: -Wmissing-field-initializers flags designated initializers leaving out a
  // member without one.)
  std::string domain = "";
  int64_t domain_opset = 1;
};

class GradChecker {
 public:
  GradChecker(std::string op, std::vector<GradInput> inputs, std::vector<ir::Attribute> attrs = {},
              GradCheckOptions options = {})
      : op_(std::move(op)), inputs_(std::move(inputs)), options_(options) {
    model_.set_opset("", options.opset);
    if (!options.domain.empty()) model_.set_opset(options.domain, options.domain_opset);
    ir::Graph& g = *model_.graph;
    ir::Node n;
    n.name = "under_test";
    n.op_type = op_;
    n.domain = options.domain;
    n.attributes = std::move(attrs);
    for (size_t i = 0; i < inputs_.size(); ++i) {
      std::string name = "in" + std::to_string(i);
      if (i < options.node_inputs) n.inputs.push_back(inputs_[i].value.defined() ? name : "");
      if (!inputs_[i].value.defined()) continue;
      if (inputs_[i].constant) {
        g.initializers.push_back({name, inputs_[i].value, ""});
      } else {
        std::vector<ir::Dim> dims;
        for (int64_t d : inputs_[i].value.shape()) dims.push_back({d, "", ""});
        g.inputs.push_back({name, ir::TypeInfo::tensor(inputs_[i].value.dtype(), dims), ""});
        if (inputs_[i].differentiate) wrt_.push_back(name);
      }
    }
    for (size_t k = 0; k < options.num_outputs; ++k) {
      n.outputs.push_back("out" + std::to_string(k));
      g.outputs.push_back({"out" + std::to_string(k), {}, ""});
    }
    g.nodes.push_back(std::move(n));
  }

  // A whole model instead of one op: its graph inputs are in0, in1, ... (fed `inputs`, or
  // initializers for constant ones) and its outputs out0, out1, ... (options.num_outputs).
  GradChecker(ir::Model model, std::vector<GradInput> inputs, GradCheckOptions options = {})
      : op_(model.graph->name),
        inputs_(std::move(inputs)),
        options_(options),
        model_(std::move(model)) {
    for (size_t i = 0; i < inputs_.size(); ++i) {
      if (inputs_[i].differentiate && !inputs_[i].constant)
        wrt_.push_back("in" + std::to_string(i));
    }
  }

  // Runs the check; failures are reported through gtest with the case's name.
  void run(const std::string& label) {
    SCOPED_TRACE(label);
    runtime::Session forward(model_, so());
    std::vector<Value> ys = forward.run(feeds());
    std::vector<Tensor> seeds;
    for (size_t k = 0; k < ys.size(); ++k) {
      const Tensor& y = ys[k].tensor();
      if (!is_floating(y.dtype())) {
        seeds.emplace_back();
      } else if (k < options_.seeded_outputs) {
        seeds.push_back(random_tensor(y.shape(), -1, 1, 100 + static_cast<uint32_t>(k)));
      } else {
        seeds.push_back(Tensor::zeros(y.dtype(), y.shape()));
      }
    }
    autodiff::GradOptions go;
    go.wrt = wrt_;
    ir::Model gm = autodiff::build_gradient_model(model_, go);
    if (const char* dump = std::getenv("ONYX_GRADCHECK_DUMP")) {  // for debugging a rule
      onnx_io::save_model(gm, std::string(dump) + "/" + op_ + ".onnx");
    }
    runtime::Session backward(gm, so());
    runtime::NamedValues f = feeds();
    for (size_t k = 0; k < seeds.size(); ++k) {
      if (seeds[k].defined()) f.emplace_back("out" + std::to_string(k) + "_grad", seeds[k]);
    }
    std::vector<Value> outs = backward.run(f);
    ASSERT_EQ(outs.size(), ys.size() + wrt_.size());
    // The gradient model computes the forward outputs too (possibly rewritten, as for
    // unrolled recurrent layers): they must stay the forward model's.
    for (size_t k = 0; k < ys.size(); ++k) {
      const Tensor &a = outs[k].tensor(), &b = ys[k].tensor();
      ASSERT_EQ(a.shape(), b.shape()) << "forward output " << k;
      for (int64_t e = 0; e < b.numel(); ++e) {
        double u = a.element_as_double(e), v = b.element_as_double(e);
        ASSERT_LE(std::fabs(u - v), 1e-9 * (1 + std::fabs(v)))
            << "forward output " << k << " element " << e;
      }
    }
    for (size_t w = 0; w < wrt_.size(); ++w) {
      size_t i = std::stoul(wrt_[w].substr(2));
      const Tensor& analytic = outs[ys.size() + w].tensor();
      ASSERT_EQ(analytic.shape(), inputs_[i].value.shape()) << "gradient of " << wrt_[w];
      // Shares the input's buffer: perturbing x perturbs what feeds() passes in.
      Tensor x = inputs_[i].value;
      for (int64_t e = 0; e < x.numel(); ++e) {
        double saved = x.data<double>()[e];
        x.data<double>()[e] = saved + options_.eps;
        double plus = objective(forward, seeds);
        x.data<double>()[e] = saved - options_.eps;
        double minus = objective(forward, seeds);
        x.data<double>()[e] = saved;
        double numeric = (plus - minus) / (2 * options_.eps);
        double a = analytic.element_as_double(e);
        if (!(std::fabs(a - numeric) <= options_.atol + options_.rtol * std::fabs(numeric))) {
          ADD_FAILURE() << op_ << ": d/d" << wrt_[w] << " element " << e << " is " << a
                        << ", finite differences give " << numeric;
          break;  // one report per input is enough
        }
      }
    }
  }

  const ir::Model& model() const { return model_; }

 private:
  runtime::SessionOptions so() const {
    runtime::SessionOptions o;
    o.threads = 1;
    return o;
  }
  runtime::NamedValues feeds() const {
    runtime::NamedValues f;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      if (inputs_[i].value.defined() && !inputs_[i].constant) {
        f.emplace_back("in" + std::to_string(i), inputs_[i].value);
      }
    }
    return f;
  }
  double objective(runtime::Session& s, const std::vector<Tensor>& seeds) const {
    std::vector<Value> ys = s.run(feeds());
    double sum = 0;
    for (size_t k = 0; k < ys.size(); ++k) {
      if (!seeds[k].defined()) continue;
      const Tensor& y = ys[k].tensor();
      for (int64_t e = 0; e < y.numel(); ++e)
        sum += y.element_as_double(e) * seeds[k].data<double>()[e];
    }
    return sum;
  }

  std::string op_;
  std::vector<GradInput> inputs_;
  GradCheckOptions options_;
  ir::Model model_;
  std::vector<std::string> wrt_;
};

// One op checked by name (the label is the op's name). Optional inputs left out at the end
// (undefined tensors) are dropped rather than passed as "".
inline void check(const std::string& op, std::vector<GradInput> in,
                  std::vector<ir::Attribute> attrs = {}, GradCheckOptions o = {}) {
  while (!in.empty() && !in.back().value.defined()) in.pop_back();
  GradChecker c(op, std::move(in), std::move(attrs), o);
  c.run(op);
}

// A 1-D int64 tensor (axes, shapes, indices).
inline Tensor i64(std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

}  // namespace onyx::testing
