#include "onyx/np/grad.h"

#include <map>
#include <memory>

#include "onyx/autodiff/grad_context.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/ir/builder.h"
#include "onyx/np/expr.h"
#include "onyx/runtime/session.h"

namespace onyx::np {

namespace {

// A function traced into a planned session per signature.
class Traced {
 public:
  Traced(Function f, bool with_grad) : f_(std::move(f)), with_grad_(with_grad) {}

  // Outputs: f's value, then (with_grad) the gradient for each argument.
  std::vector<Tensor> operator()(const std::vector<Array>& args) {
    std::vector<Tensor> values;
    std::string signature;
    for (const auto& a : args) {
      values.push_back(a.value());
      signature +=
          std::string(dtype_name(values.back().dtype())) + shape_str(values.back().shape());
    }
    auto it = sessions_.find(signature);
    if (it == sessions_.end()) it = sessions_.emplace(signature, plan(values)).first;
    runtime::NamedValues feeds;
    for (size_t i = 0; i < values.size(); ++i)
      feeds.emplace_back("arg" + std::to_string(i), values[i]);
    std::vector<Value> out = it->second->run(feeds);
    std::vector<Tensor> result;
    for (auto& v : out) result.push_back(v.tensor());
    return result;
  }

 private:
  std::unique_ptr<runtime::Session> plan(const std::vector<Tensor>& values) {
    std::vector<Array> placeholders;
    for (size_t i = 0; i < values.size(); ++i) {
      auto e = std::make_shared<Expr>();
      e->placeholder = static_cast<int>(i);
      e->type = ir::TypeInfo::tensor(values[i].dtype(), values[i].shape());
      placeholders.emplace_back(e);
    }
    Array y = f_(placeholders);
    ir::Model m = lower({y.expr()});
    // Every argument is an input even when f ignores it, so that feeds always fit.
    for (size_t i = 0; i < values.size(); ++i) {
      std::string name = "arg" + std::to_string(i);
      if (!m.graph->find_input(name))
        m.graph->inputs.push_back({name, placeholders[i].expr()->type, ""});
    }
    if (with_grad_) {
      autodiff::VjpSpec spec;
      ir::GraphBuilder b(*m.graph);
      spec.ys = {"out0"};
      spec.seeds = {autodiff::fill(b, b.op("Shape", {"out0"}), 1.0, DType::Undefined)};
      for (size_t i = 0; i < values.size(); ++i) {
        spec.wrt.push_back("arg" + std::to_string(i));
        spec.names.push_back("grad" + std::to_string(i));
      }
      autodiff::append_vjp(m, spec);
      for (const auto& n : spec.names) m.graph->outputs.push_back({n, {}, ""});
    }
    return std::make_unique<runtime::Session>(std::move(m));
  }

  Function f_;
  bool with_grad_;
  std::map<std::string, std::unique_ptr<runtime::Session>> sessions_;
};

void check_scalar(const Tensor& y) {
  if (y.numel() != 1) {
    fail(ErrorKind::InvalidArgument, "np::grad: the function must return one value, got shape ",
         shape_str(y.shape()));
  }
}

}  // namespace

ValueAndGradFunction value_and_grad(Function f) {
  auto traced = std::make_shared<Traced>(std::move(f), true);
  return [traced](const std::vector<Array>& args) {
    std::vector<Tensor> out = (*traced)(args);
    check_scalar(out[0]);
    std::vector<Array> grads;
    for (size_t i = 1; i < out.size(); ++i) grads.emplace_back(out[i]);
    return std::pair<Array, std::vector<Array>>{Array(out[0]), grads};
  };
}

GradFunction grad(Function f) {
  ValueAndGradFunction vg = value_and_grad(std::move(f));
  return [vg](const std::vector<Array>& args) { return vg(args).second; };
}

ir::Model to_onnx(const Function& f, const std::vector<Array>& examples) {
  std::vector<Array> placeholders;
  for (size_t i = 0; i < examples.size(); ++i) {
    auto e = std::make_shared<Expr>();
    e->placeholder = static_cast<int>(i);
    e->type = examples[i].type();
    placeholders.emplace_back(e);
  }
  ir::Model m = lower({f(placeholders).expr()});
  for (size_t i = 0; i < examples.size(); ++i) {
    std::string name = "arg" + std::to_string(i);
    if (!m.graph->find_input(name))
      m.graph->inputs.push_back({name, placeholders[i].expr()->type, ""});
  }
  return m;
}

Function jit(Function f) {
  auto traced = std::make_shared<Traced>(std::move(f), false);
  return [traced](const std::vector<Array>& args) { return Array((*traced)(args)[0]); };
}

}  // namespace onyx::np
