#include "convert.h"

#include <cstring>

#include "onyx/core/error.h"

namespace onyx::python {

namespace {

// ONNX element types and the NumPy dtypes that hold them: kind, item size, name.
struct NumpyType {
  DType dtype;
  char kind;
  size_t size;
  const char* name;
};
constexpr NumpyType kNumpyTypes[] = {
    {DType::Float32, 'f', 4, "float32"},     {DType::Float64, 'f', 8, "float64"},
    {DType::Float16, 'f', 2, "float16"},     {DType::Int8, 'i', 1, "int8"},
    {DType::Int16, 'i', 2, "int16"},         {DType::Int32, 'i', 4, "int32"},
    {DType::Int64, 'i', 8, "int64"},         {DType::UInt8, 'u', 1, "uint8"},
    {DType::UInt16, 'u', 2, "uint16"},       {DType::UInt32, 'u', 4, "uint32"},
    {DType::UInt64, 'u', 8, "uint64"},       {DType::Bool, 'b', 1, "bool"},
    {DType::Complex64, 'c', 8, "complex64"}, {DType::Complex128, 'c', 16, "complex128"},
};

// The onyx element type of a NumPy dtype, or Undefined.
DType dtype_of(const py::dtype& d) {
  for (const auto& t : kNumpyTypes) {
    if (t.kind == d.kind() && t.size == static_cast<size_t>(d.itemsize())) return t.dtype;
  }
  return DType::Undefined;
}

const char* numpy_name(DType dtype) {
  for (const auto& t : kNumpyTypes) {
    if (t.dtype == dtype) return t.name;
  }
  return nullptr;
}

Shape shape_of(const py::array& a) {
  Shape s;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s.push_back(static_cast<int64_t>(a.shape(i)));
  return s;
}

Tensor strings(const py::array& a) {
  Tensor t = Tensor::empty(DType::String, shape_of(a));
  py::list flat = a.attr("ravel")().attr("tolist")();
  auto* out = t.data<std::string>();
  for (size_t i = 0; i < flat.size(); ++i) {
    py::handle item = flat[i];
    out[i] = py::isinstance<py::bytes>(item) ? std::string(py::bytes(item.cast<py::object>()))
                                             : py::str(item).cast<std::string>();
  }
  return t;
}

}  // namespace

Tensor to_tensor(const py::handle& obj, const std::string& what) {
  py::array a = py::isinstance<py::array>(obj)
                    ? py::reinterpret_borrow<py::array>(obj)
                    : py::array(py::module_::import("numpy").attr("asarray")(obj));
  char kind = a.dtype().kind();
  if (kind == 'O' || kind == 'U' || kind == 'S') return strings(a);
  DType t = dtype_of(a.dtype());
  if (t == DType::Undefined) {
    fail(ErrorKind::InvalidArgument, what, ": NumPy dtype ", std::string(py::str(a.dtype())),
         " has no ONNX element type onyx supports");
  }
  bool native = a.dtype().attr("isnative").cast<bool>();
  if (!(a.flags() & py::array::c_style) || !native) {
    a = py::array(py::module_::import("numpy").attr("ascontiguousarray")(
        a, a.dtype().attr("newbyteorder")("=")));
  }
  // The tensor holds a reference to the array; it may be dropped on any thread (the
  // runtime's pool), so the deleter takes the GIL.
  auto* ref = new py::object(a);
  std::shared_ptr<void> owner(ref, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
  return Tensor::wrap(t, shape_of(a), const_cast<void*>(a.data()), owner);
}

py::object to_numpy(const Tensor& t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  if (t.dtype() == DType::String) {
    py::list items;
    const auto* s = t.data<std::string>();
    for (int64_t i = 0; i < t.numel(); ++i) items.append(py::str(s[i]));
    py::tuple dims(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) dims[i] = shape[i];
    return py::module_::import("numpy").attr("array")(items, "O").attr("reshape")(dims);
  }
  const char* name = numpy_name(t.dtype());
  if (!name) fail(ErrorKind::Unsupported, "NumPy has no dtype for ONNX ", dtype_name(t.dtype()));
  auto* keep = new Tensor(t);
  py::capsule owner(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(py::dtype(name), shape, {}, const_cast<void*>(keep->raw_data()), owner);
}

py::object to_python(const Value& v) {
  if (v.is_tensor()) return to_numpy(v.tensor());
  if (v.is_sequence()) {
    py::list out;
    for (const auto& item : v.items()) out.append(to_python(item));
    return out;
  }
  if (v.is_optional()) return v.inner() ? to_python(*v.inner()) : py::none();
  if (v.is_map()) {  // a dict, as onnxruntime gives (ZipMap's rows)
    py::dict out;
    py::list keys = to_numpy(v.keys()).attr("tolist")(),
             values = to_numpy(v.values()).attr("tolist")();
    for (size_t i = 0; i < keys.size(); ++i) out[keys[i]] = values[i];
    return out;
  }
  return py::none();
}

Value to_value(const py::handle& obj, const std::string& what) {
  if (obj.is_none()) return Value::optional(nullptr);
  if (py::isinstance<py::dict>(obj)) {  // a map: int or str keys, values of one type
    py::dict d = py::reinterpret_borrow<py::dict>(obj);
    py::list keys, values;
    for (auto item : d) {
      keys.append(item.first);
      values.append(item.second);
    }
    Tensor k = to_tensor(keys, what + " (keys)"), v = to_tensor(values, what + " (values)");
    if (k.dtype() != DType::Int64 && k.dtype() != DType::String)
      fail(ErrorKind::InvalidArgument, what, ": map keys must be int or str");
    return Value::map(k, v);
  }
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
    // A list of arrays is a sequence; a list of numbers is one array.
    py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
    bool arrays = seq.size() > 0 && py::isinstance<py::array>(seq[0]);
    if (arrays) {
      std::vector<Value> items;
      for (size_t i = 0; i < seq.size(); ++i) items.push_back(to_value(seq[i], what));
      return Value::sequence(std::move(items));
    }
  }
  return to_tensor(obj, what);
}

}  // namespace onyx::python
