#include "onyx/np/array.h"

#include <functional>
#include <limits>
#include <ostream>
#include <random>
#include <set>

#include "onyx/autodiff/grad_context.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/ir/builder.h"
#include "onyx/np/expr.h"
#include "onyx/onnx/checker.h"
#include "onyx/onnx/dot.h"
#include "onyx/runtime/session.h"

namespace onyx::np {

namespace {

using ir::attr;

std::shared_ptr<Expr> leaf(Tensor t) {
  auto e = std::make_shared<Expr>();
  e->value = std::move(t);
  return e;
}

std::shared_ptr<Expr> node(const std::string& op, std::vector<std::shared_ptr<Expr>> in,
                           std::vector<ir::Attribute> attrs = {}) {
  auto e = std::make_shared<Expr>();
  e->op = op;
  e->inputs = std::move(in);
  e->attrs = std::move(attrs);
  return e;
}

std::shared_ptr<Expr> ints(const std::vector<int64_t>& v) {
  return leaf(Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
}

bool depends_on_placeholder(const Expr& e) {
  if (e.placeholder >= 0) return true;
  if (e.value.defined()) return false;
  for (const auto& i : e.inputs) {
    if (depends_on_placeholder(*i)) return true;
  }
  return false;
}

}  // namespace

ir::Model lower(const std::vector<std::shared_ptr<Expr>>& outputs,
                std::map<const Expr*, std::string>* names_out) {
  ir::Model m;
  m.set_opset("", 17);
  m.graph->name = "np";
  ir::GraphBuilder b(*m.graph);
  std::map<const Expr*, std::string> names;
  std::map<int, ir::ValueInfo> args;  // by argument index
  // Post-order: inputs before the expressions that read them.
  std::function<std::string(const std::shared_ptr<Expr>&)> visit = [&](const auto& e) {
    auto it = names.find(e.get());
    if (it != names.end()) return it->second;
    std::string name;
    if (e->placeholder >= 0) {
      name = "arg" + std::to_string(e->placeholder);
      args[e->placeholder] = {name, e->type, ""};
    } else if (e->value.defined()) {
      name = b.constant("c", e->value);
    } else {
      std::vector<std::string> in;
      for (const auto& i : e->inputs) in.push_back(visit(i));
      name = b.op(e->op, in, e->attrs);
    }
    names[e.get()] = name;
    return name;
  };
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string v = visit(outputs[i]);
    // Each output under its own name, even when two are the same expression.
    std::string out = "out" + std::to_string(i);
    ir::Node id;
    id.name = b.unique("output");
    id.op_type = "Identity";
    id.inputs = {v};
    id.outputs = {out};
    m.graph->nodes.push_back(std::move(id));
    m.graph->outputs.push_back({out, {}, ""});
  }
  for (auto& [i, info] : args) m.graph->inputs.push_back(std::move(info));
  if (names_out) *names_out = std::move(names);
  return m;
}

Array::Array(std::vector<float> data, Shape shape)
    : e_(leaf(Tensor::from_vector<float>(std::move(shape), data))) {}
Array::Array(float scalar) : e_(leaf(Tensor::scalar<float>(scalar))) {}
Array::Array(Tensor value) : e_(leaf(std::move(value))) {}

Array operator+(const Array& a, const Array& b) {
  return Array(node("Add", {a.e_, b.e_}));
}
Array operator-(const Array& a, const Array& b) {
  return Array(node("Sub", {a.e_, b.e_}));
}
Array operator*(const Array& a, const Array& b) {
  return Array(node("Mul", {a.e_, b.e_}));
}
Array operator/(const Array& a, const Array& b) {
  return Array(node("Div", {a.e_, b.e_}));
}
Array operator<(const Array& a, const Array& b) {
  return Array(node("Less", {a.e_, b.e_}));
}
Array operator>(const Array& a, const Array& b) {
  return Array(node("Greater", {a.e_, b.e_}));
}
Array operator==(const Array& a, const Array& b) {
  return Array(node("Equal", {a.e_, b.e_}));
}
Array operator<=(const Array& a, const Array& b) {
  return Array(node("LessOrEqual", {a.e_, b.e_}));
}
Array operator>=(const Array& a, const Array& b) {
  return Array(node("GreaterOrEqual", {a.e_, b.e_}));
}
Array operator!=(const Array& a, const Array& b) {
  return Array(node("Not", {node("Equal", {a.e_, b.e_})}));
}
Array op(const std::string& op_type, const std::vector<Array>& inputs,
         std::vector<ir::Attribute> attrs) {
  std::vector<std::shared_ptr<Expr>> in;
  for (const auto& a : inputs) in.push_back(a.expr());
  return Array(node(op_type, std::move(in), std::move(attrs)));
}
Array where(const Array& c, const Array& a, const Array& b) {
  return Array(node("Where", {c.e_, a.e_, b.e_}));
}

Array Array::unary(const std::string& op, std::vector<ir::Attribute> attrs) const {
  return Array(node(op, {e_}, std::move(attrs)));
}
Array Array::operator-() const {
  return unary("Neg");
}
Array Array::pow(const Array& e) const {
  return Array(node("Pow", {e_, e.e_}));
}
Array Array::exp() const {
  return unary("Exp");
}
Array Array::log() const {
  return unary("Log");
}
Array Array::sqrt() const {
  return unary("Sqrt");
}
Array Array::abs() const {
  return unary("Abs");
}
Array Array::sin() const {
  return unary("Sin");
}
Array Array::cos() const {
  return unary("Cos");
}
Array Array::tanh() const {
  return unary("Tanh");
}
Array Array::sigmoid() const {
  return unary("Sigmoid");
}
Array Array::relu() const {
  return unary("Relu");
}
Array Array::softmax(int64_t axis) const {
  return unary("Softmax", {attr("axis", axis)});
}
Array Array::log_softmax(int64_t axis) const {
  return unary("LogSoftmax", {attr("axis", axis)});
}
Array Array::astype(DType t) const {
  return unary("Cast", {attr("to", static_cast<int64_t>(t))});
}
Array Array::matmul(const Array& b) const {
  return Array(node("MatMul", {e_, b.e_}));
}
Array Array::square() const {
  return Array(node("Mul", {e_, e_}));
}
Array Array::maximum(const Array& b) const {
  return Array(node("Max", {e_, b.e_}));
}
Array Array::minimum(const Array& b) const {
  return Array(node("Min", {e_, b.e_}));
}
Array Array::clip(const Array& lo, const Array& hi) const {
  return Array(node("Clip", {e_, lo.e_, hi.e_}));
}
Array Array::scalar_like(double v) const {
  return Array(node("CastLike", {leaf(Tensor::scalar<double>(v)), e_}));
}
Array Array::gelu() const {
  Array erf(node("Erf", {(*this * scalar_like(0.7071067811865476)).e_}));
  return scalar_like(0.5) * *this * (scalar_like(1) + erf);
}
Array Array::argmax(int64_t axis, bool keepdims) const {
  return unary("ArgMax", {attr("axis", axis), attr("keepdims", int64_t{keepdims})});
}
Array Array::squeeze(std::vector<int64_t> axes) const {
  return axes.empty() ? unary("Squeeze") : Array(node("Squeeze", {e_, ints(axes)}));
}
Array Array::expand_dims(std::vector<int64_t> axes) const {
  return Array(node("Unsqueeze", {e_, ints(axes)}));
}
Array Array::take(const Array& indices, int64_t axis) const {
  return Array(node("Gather", {e_, indices.e_}, {attr("axis", axis)}));
}

Array concatenate(const std::vector<Array>& arrays, int64_t axis) {
  if (arrays.empty()) fail(ErrorKind::InvalidArgument, "np: concatenate needs at least one array");
  return op("Concat", arrays, {attr("axis", axis)});
}
Array stack(const std::vector<Array>& arrays, int64_t axis) {
  std::vector<Array> lifted;
  for (const auto& a : arrays) lifted.push_back(a.expand_dims({axis}));
  if (lifted.empty()) fail(ErrorKind::InvalidArgument, "np: stack needs at least one array");
  return op("Concat", lifted, {attr("axis", axis)});
}

ir::TypeInfo Array::type() const {
  if (e_->value.defined()) return ir::TypeInfo::tensor(e_->value.dtype(), e_->value.shape());
  if (e_->placeholder >= 0) return e_->type;
  ir::Model m = lower({e_});
  auto types = onnx_io::infer_value_types(m);
  auto it = types.find(m.graph->nodes.back().inputs[0]);
  return it == types.end() ? ir::TypeInfo{} : it->second;
}

int64_t Array::rank() const {
  ir::TypeInfo t = type();
  if (!t.shape) fail(ErrorKind::InvalidArgument, "np: the rank of this expression is unknown");
  return static_cast<int64_t>(t.shape->size());
}

Array Array::index(const std::vector<Index>& items) const {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  int64_t r = rank(), named = 0;
  int ellipses = 0, arrays = 0;
  for (const auto& it : items) {
    if (std::holds_alternative<Ellipsis>(it)) ++ellipses;
    if (std::holds_alternative<int64_t>(it) || std::holds_alternative<Slice>(it)) ++named;
    if (std::holds_alternative<std::shared_ptr<Array>>(it)) ++named, ++arrays;
  }
  if (ellipses > 1) fail(ErrorKind::InvalidArgument, "np: an index can only have one ellipsis");
  if (arrays > 1) fail(ErrorKind::InvalidArgument, "np: one integer array per index is supported");
  if (named > r) {
    fail(ErrorKind::InvalidArgument, "np: too many indices (", named, ") for an array of rank ", r);
  }
  std::vector<int64_t> starts, ends, axes, steps, dropped, new_axes;
  int64_t axis = 0, out = 0, gather_axis = -1, gather_rank = 0;
  std::shared_ptr<Array> gather;
  for (const auto& it : items) {
    if (const auto* i = std::get_if<int64_t>(&it)) {
      starts.push_back(*i);
      ends.push_back(*i == -1 ? kMax : *i + 1);
      axes.push_back(axis);
      steps.push_back(1);
      dropped.push_back(axis++);
    } else if (const auto* s = std::get_if<Slice>(&it)) {
      if (s->step == 0) fail(ErrorKind::InvalidArgument, "np: a slice step cannot be zero");
      bool forward = s->step > 0;
      starts.push_back(s->start.value_or(forward ? 0 : kMax));
      ends.push_back(s->stop.value_or(forward ? kMax : kMin));
      axes.push_back(axis++);
      steps.push_back(s->step);
      ++out;
    } else if (std::holds_alternative<NewAxis>(it)) {
      new_axes.push_back(out++);
    } else if (std::holds_alternative<Ellipsis>(it)) {
      axis += r - named;
      out += r - named;
    } else {
      gather = std::get<std::shared_ptr<Array>>(it);
      gather_axis = axis++;
      gather_rank = gather->rank();
      out += gather_rank;
    }
  }
  Array a = *this;
  if (!axes.empty())
    a = Array(node("Slice", {e_, ints(starts), ints(ends), ints(axes), ints(steps)}));
  if (gather) a = a.take(*gather, gather_axis);
  if (!dropped.empty()) {
    for (auto& d : dropped) d += d > gather_axis && gather ? gather_rank - 1 : 0;
    a = a.squeeze(dropped);
  }
  if (!new_axes.empty()) a = a.expand_dims(new_axes);
  return a;
}

std::vector<Array> gradients(const Array& y, const std::vector<Array>& xs) {
  std::set<const Expr*> wrt;
  for (const auto& x : xs) wrt.insert(x.expr().get());
  // A value computed on the way (printed, read) cut the graph through it: refuse rather
  // than give zeros for what it hid.
  std::set<const Expr*> seen;
  std::function<void(const Expr&)> check = [&](const Expr& e) {
    if (!seen.insert(&e).second || wrt.count(&e)) return;
    if (!e.op.empty() && e.value.defined() && e.inputs.empty()) {
      fail(ErrorKind::InvalidArgument,
           "np::gradients: part of the expression was already computed, so the graph "
           "through it is gone; take gradients before reading values, or differentiate "
           "with respect to that value");
    }
    for (const auto& i : e.inputs) check(*i);
  };
  check(*y.expr());
  std::map<const Expr*, std::string> names;
  ir::Model m = lower({y.expr()}, &names);
  ir::GraphBuilder b(*m.graph);
  autodiff::VjpSpec spec;
  spec.ys = {"out0"};
  spec.seeds = {autodiff::fill(b, b.op("Shape", {"out0"}), 1.0, DType::Undefined)};
  std::vector<size_t> reached;
  for (size_t i = 0; i < xs.size(); ++i) {
    auto it = names.find(xs[i].expr().get());
    if (it == names.end()) continue;  // y does not read it: zeros below
    spec.wrt.push_back(it->second);
    spec.names.push_back("grad" + std::to_string(i));
    reached.push_back(i);
  }
  Tensor yv;
  std::vector<Array> out;
  for (const auto& x : xs)
    out.push_back(Array(Tensor::zeros(x.value().dtype(), x.value().shape())));
  if (spec.wrt.empty()) return out;
  autodiff::append_vjp(m, spec);
  for (const auto& n : spec.names) m.graph->outputs.push_back({n, {}, ""});
  runtime::Session session(std::move(m));
  std::vector<Value> values = session.run({});
  if (values[0].tensor().numel() != 1) {
    fail(ErrorKind::InvalidArgument, "np::gradients: y must have one element, got shape ",
         shape_str(values[0].tensor().shape()));
  }
  for (size_t k = 0; k < reached.size(); ++k) out[reached[k]] = Array(values[k + 1].tensor());
  return out;
}

Array Array::reduce(const std::string& op, std::vector<int64_t> axes, bool keepdims) const {
  std::vector<ir::Attribute> attrs{attr("keepdims", int64_t{keepdims})};
  if (axes.empty()) return unary(op, attrs);                               // every axis
  if (op == "ReduceSum") return Array(node(op, {e_, ints(axes)}, attrs));  // axes input at 13
  attrs.push_back(attr("axes", axes));
  return unary(op, attrs);
}
Array Array::sum(std::vector<int64_t> axes, bool keepdims) const {
  return reduce("ReduceSum", std::move(axes), keepdims);
}
Array Array::mean(std::vector<int64_t> axes, bool keepdims) const {
  return reduce("ReduceMean", std::move(axes), keepdims);
}
Array Array::max(std::vector<int64_t> axes, bool keepdims) const {
  return reduce("ReduceMax", std::move(axes), keepdims);
}
Array Array::min(std::vector<int64_t> axes, bool keepdims) const {
  return reduce("ReduceMin", std::move(axes), keepdims);
}
Array Array::reshape(Shape shape) const {
  return Array(node("Reshape", {e_, ints(shape)}));
}
Array Array::transpose(std::vector<int64_t> perm) const {
  return perm.empty() ? unary("Transpose") : unary("Transpose", {attr("perm", perm)});
}
Array Array::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  return Array(node("Slice", {e_, ints({start}), ints({end}), ints({axis}), ints({step})}));
}

Tensor Array::value() const {
  if (e_->value.defined()) return e_->value;
  if (depends_on_placeholder(*e_)) {
    fail(ErrorKind::InvalidArgument,
         "np: a value inside a traced function (grad, jit) has no value until the function runs");
  }
  ir::Model m = lower({e_});
  runtime::Session session(std::move(m));
  e_->value = session.run({})[0].tensor();
  e_->inputs.clear();  // the graph behind a computed value is no longer needed
  return e_->value;
}

std::vector<float> Array::to_vector() const {
  Tensor t = value();
  if (t.dtype() != DType::Float32) {
    std::vector<float> v(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = static_cast<float>(t.element_as_double(i));
    return v;
  }
  return t.to_vector<float>();
}

float Array::item() const {
  Tensor t = value();
  if (t.numel() != 1)
    fail(ErrorKind::InvalidArgument, "np: item() of an array of shape ", shape_str(t.shape()));
  return static_cast<float>(t.element_as_double(0));
}

float Array::at(const std::vector<int64_t>& index) const {
  Tensor t = value();
  if (static_cast<int64_t>(index.size()) != t.rank()) {
    fail(ErrorKind::InvalidArgument, "np: at() needs ", t.rank(), " indices, got ", index.size());
  }
  int64_t flat = 0;
  for (int64_t d = 0; d < t.rank(); ++d) {
    int64_t i = index[static_cast<size_t>(d)];
    if (i < 0) i += t.dim(d);
    if (i < 0 || i >= t.dim(d)) {
      fail(ErrorKind::InvalidArgument, "np: index ", index[static_cast<size_t>(d)],
           " is out of range for axis ", d, " of size ", t.dim(d));
    }
    flat = flat * t.dim(d) + i;
  }
  return static_cast<float>(t.element_as_double(flat));
}

std::string Array::to_dot() const {
  return onnx_io::to_dot(lower({e_}));
}

Array array(std::vector<float> data, Shape shape) {
  return Array(std::move(data), std::move(shape));
}
Array zeros(Shape shape) {
  return Array(Tensor::zeros(DType::Float32, std::move(shape)));
}
Array ones(Shape shape) {
  Tensor t = Tensor::empty(DType::Float32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 1;
  return Array(t);
}
Array uniform(Shape shape, float lo, float hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t = Tensor::empty(DType::Float32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return Array(t);
}
Array normal(Shape shape, float mean, float stddev, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(mean, stddev);
  Tensor t = Tensor::empty(DType::Float32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return Array(t);
}

std::ostream& operator<<(std::ostream& os, const Array& a) {
  Tensor t = a.value();
  if (t.rank() == 0) return os << t.element_as_double(0);
  // Nested brackets, row-major, at most 6 values per row before "...".
  std::function<void(int64_t, int64_t)> print = [&](int64_t dim, int64_t offset) {
    int64_t stride = 1;
    for (int64_t d = dim + 1; d < t.rank(); ++d) stride *= t.dim(d);
    os << "[";
    for (int64_t i = 0; i < t.dim(dim); ++i) {
      if (i == 6 && t.dim(dim) > 8) {
        os << ", ...";
        i = t.dim(dim) - 2;
        continue;
      }
      if (i) os << ", ";
      if (dim + 1 == t.rank()) {
        os << t.element_as_double(offset + i);
      } else {
        print(dim + 1, offset + i * stride);
      }
    }
    os << "]";
  };
  print(0, 0);
  return os;
}

}  // namespace onyx::np
