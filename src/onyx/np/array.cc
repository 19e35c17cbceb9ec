#include "onyx/np/array.h"

#include <functional>
#include <ostream>
#include <random>

#include "onyx/ir/builder.h"
#include "onyx/np/expr.h"
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

ir::Model lower(const std::vector<std::shared_ptr<Expr>>& outputs) {
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
Array Array::slice(int64_t axis, int64_t start, int64_t end) const {
  return Array(node("Slice", {e_, ints({start}), ints({end}), ints({axis})}));
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
