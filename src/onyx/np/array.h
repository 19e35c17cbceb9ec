// The lazy array API: NumPy-style arrays whose operations build an ONNX graph; values are
// computed when asked for (printing, to_vector(), item(), value()).
//
//   auto x = np::array({1, 2, 3, 4}, {2, 2});
//   auto y = (x.matmul(x) + 1.0f).relu().sum();   // nothing computed yet
//   std::cout << y;                               // builds a graph, runs it: 58
//
// grad, value_and_grad and jit (grad.h) trace functions of arrays into graphs, once per
// input signature.
#pragma once

#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "onyx/core/tensor.h"
#include "onyx/ir/attribute.h"
#include "onyx/ir/graph.h"

namespace onyx::np {

struct Expr;
class Array;

// One item of an index, as NumPy's basic and integer-array indexing take them.
struct Slice {
  std::optional<int64_t> start, stop;
  int64_t step = 1;
};
struct NewAxis {};
struct Ellipsis {};
using Index = std::variant<int64_t, Slice, NewAxis, Ellipsis, std::shared_ptr<Array>>;

class Array {
 public:
  // A float32 array holding `data` in row-major order.
  Array(std::vector<float> data, Shape shape);
  Array(float scalar);  // NOLINT: implicit, for x * 2.0f
  explicit Array(Tensor value);
  explicit Array(std::shared_ptr<Expr> e) : e_(std::move(e)) {}

  // Arithmetic (NumPy broadcasting), comparisons (bool arrays) and unary math.
  friend Array operator+(const Array& a, const Array& b);
  friend Array operator-(const Array& a, const Array& b);
  friend Array operator*(const Array& a, const Array& b);
  friend Array operator/(const Array& a, const Array& b);
  friend Array operator<(const Array& a, const Array& b);
  friend Array operator>(const Array& a, const Array& b);
  friend Array operator==(const Array& a, const Array& b);
  friend Array operator<=(const Array& a, const Array& b);
  friend Array operator>=(const Array& a, const Array& b);
  friend Array operator!=(const Array& a, const Array& b);
  Array operator-() const;
  Array square() const;
  Array maximum(const Array& b) const;  // elementwise, broadcasting
  Array minimum(const Array& b) const;
  Array clip(const Array& lo, const Array& hi) const;
  Array gelu() const;  // 0.5 x (1 + erf(x / sqrt 2)), PyTorch's default form
  // A scalar of this array's element type (CastLike): a Python or C++ number in an
  // expression takes the array's dtype, as NumPy's scalars do.
  Array scalar_like(double v) const;
  Array pow(const Array& e) const;
  Array exp() const;
  Array log() const;
  Array sqrt() const;
  Array abs() const;
  Array sin() const;
  Array cos() const;
  Array tanh() const;
  Array sigmoid() const;
  Array relu() const;
  Array softmax(int64_t axis = -1) const;
  Array log_softmax(int64_t axis = -1) const;
  Array astype(DType t) const;
  // where(cond, a, b): a where cond holds, else b.
  friend Array where(const Array& cond, const Array& a, const Array& b);

  Array matmul(const Array& b) const;
  Array argmax(int64_t axis = 0, bool keepdims = false) const;
  Array squeeze(std::vector<int64_t> axes = {}) const;  // default: every axis of size 1
  Array expand_dims(std::vector<int64_t> axes) const;
  // take(indices, axis): Gather.
  Array take(const Array& indices, int64_t axis = 0) const;
  // a[i, :, None, ..., idx]: ints drop their axis, slices keep it (any step), NewAxis adds
  // one, Ellipsis stands for the axes not named, one integer array gathers along its axis.
  Array index(const std::vector<Index>& items) const;
  // Reductions over `axes` (all when empty).
  Array sum(std::vector<int64_t> axes = {}, bool keepdims = false) const;
  Array mean(std::vector<int64_t> axes = {}, bool keepdims = false) const;
  Array max(std::vector<int64_t> axes = {}, bool keepdims = false) const;
  Array min(std::vector<int64_t> axes = {}, bool keepdims = false) const;
  Array reshape(Shape shape) const;                       // -1 and 0 as ONNX Reshape
  Array transpose(std::vector<int64_t> perm = {}) const;  // default: reversed axes
  // Elements [start, end) along `axis` (negative indices count from the end).
  Array slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;

  // The element type and shape, without computing the value (from the value, the
  // placeholder's type, or shape inference); dims shape inference cannot tell are unknown.
  ir::TypeInfo type() const;
  int64_t rank() const;

  // Evaluation. value() computes (once; the result is cached) and returns the tensor.
  Tensor value() const;
  Shape shape() const { return value().shape(); }
  std::vector<float> to_vector() const;
  float item() const;                                 // a one-element array's value
  float at(const std::vector<int64_t>& index) const;  // one element, by its coordinates
  // The value as a new leaf: later expressions no longer carry this one's graph.
  Array eval() const { return Array(value()); }

  // The expression as Graphviz DOT.
  std::string to_dot() const;

  const std::shared_ptr<Expr>& expr() const { return e_; }

 private:
  Array unary(const std::string& op, std::vector<ir::Attribute> attrs = {}) const;
  Array reduce(const std::string& op, std::vector<int64_t> axes, bool keepdims) const;
  std::shared_ptr<Expr> e_;
};

Array where(const Array& cond, const Array& a, const Array& b);
// Any ONNX op of the default domain on arrays (one output): the way to everything the
// methods above do not name.
Array op(const std::string& op_type, const std::vector<Array>& inputs,
         std::vector<ir::Attribute> attrs = {});
Array concatenate(const std::vector<Array>& arrays, int64_t axis = 0);
Array stack(const std::vector<Array>& arrays, int64_t axis = 0);
// d y / d x for each x (y has one element): the GradientTape style of onnxruntime-numpy;
// each x is an array the expression of y reads.
std::vector<Array> gradients(const Array& y, const std::vector<Array>& xs);
Array array(std::vector<float> data, Shape shape);
Array zeros(Shape shape);
Array ones(Shape shape);
// Uniform in [lo, hi) or normal(mean, std), seeded.
Array uniform(Shape shape, float lo, float hi, uint64_t seed);
Array normal(Shape shape, float mean, float stddev, uint64_t seed);

std::ostream& operator<<(std::ostream& os, const Array& a);

}  // namespace onyx::np
