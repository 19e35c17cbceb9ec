// onyx.np: the lazy array API (onyx::np) with Python's operators, NumPy's conversions and
// indexing, and grad / value_and_grad / jit / gradients / to_onnx over Python functions.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "convert.h"
#include "onyx/np/array.h"
#include "onyx/np/grad.h"

namespace onyx::python {

namespace {

using np::Array;

// The onyx element type of a NumPy dtype (or anything np.dtype takes).
DType onyx_dtype(const py::object& dtype) {
  return to_tensor(py::module_::import("numpy").attr("zeros")(0, dtype), "dtype").dtype();
}

// Anything array-like as a new leaf (copied: the caller may change its array later).
Array as_array(const py::handle& obj, const py::object& dtype = py::none()) {
  if (py::isinstance<Array>(obj)) {
    Array a = obj.cast<Array>();
    return dtype.is_none() ? a : a.astype(onyx_dtype(dtype));
  }
  py::object arr = py::module_::import("numpy").attr("asarray")(obj, dtype);
  return Array(to_tensor(arr, "array").clone());
}

// The other operand of a binary operator: Python numbers take the array's dtype.
Array operand(const py::handle& obj, const Array& like) {
  if (py::isinstance<Array>(obj)) return obj.cast<Array>();
  if (py::isinstance<py::bool_>(obj) || py::isinstance<py::int_>(obj) ||
      py::isinstance<py::float_>(obj)) {
    return like.scalar_like(obj.cast<double>());
  }
  return as_array(obj);
}

std::vector<int64_t> axes_of(const py::object& axis) {
  if (axis.is_none()) return {};
  if (py::isinstance<py::int_>(axis)) return {axis.cast<int64_t>()};
  return axis.cast<std::vector<int64_t>>();
}

std::vector<np::Index> index_of(const py::handle& key) {
  std::vector<np::Index> items;
  py::tuple parts =
      py::isinstance<py::tuple>(key) ? py::reinterpret_borrow<py::tuple>(key) : py::make_tuple(key);
  for (const auto& k : parts) {
    if (k.is_none()) {
      items.emplace_back(np::NewAxis{});
    } else if (k.ptr() == Py_Ellipsis) {
      items.emplace_back(np::Ellipsis{});
    } else if (py::isinstance<py::int_>(k)) {
      items.emplace_back(k.cast<int64_t>());
    } else if (py::isinstance<py::slice>(k)) {
      np::Slice s;
      py::object start = k.attr("start"), stop = k.attr("stop"), step = k.attr("step");
      if (!start.is_none()) s.start = start.cast<int64_t>();
      if (!stop.is_none()) s.stop = stop.cast<int64_t>();
      if (!step.is_none()) s.step = step.cast<int64_t>();
      items.emplace_back(s);
    } else {
      Array idx = py::isinstance<Array>(k) ? k.cast<Array>() : as_array(k);
      items.emplace_back(std::make_shared<Array>(idx));
    }
  }
  return items;
}

py::object shape_of(const Array& a) {
  ir::TypeInfo t = a.type();
  if (!t.shape) return py::none();
  py::list dims;
  for (const auto& d : *t.shape) {
    if (d.value) {
      dims.append(*d.value);
    } else {
      dims.append(py::none());
    }
  }
  return py::tuple(dims);
}

np::Function function_of(const py::function& f) {
  return [f](const std::vector<Array>& args) {
    py::gil_scoped_acquire gil;
    py::tuple t(args.size());
    for (size_t i = 0; i < args.size(); ++i) t[i] = py::cast(args[i]);
    py::object r = f(*t);
    if (!py::isinstance<Array>(r)) {
      fail(ErrorKind::InvalidArgument, "the function must return an onyx.np array, not ",
           std::string(py::str(r.get_type().attr("__name__"))));
    }
    return r.cast<Array>();
  };
}

std::vector<Array> arrays_of(const py::args& args) {
  std::vector<Array> out;
  for (const auto& a : args)
    out.push_back(py::isinstance<Array>(a) ? a.cast<Array>() : as_array(a));
  return out;
}

// The gradients argnums asks for: one array, or a tuple of them.
py::object pick(const std::vector<Array>& grads, const py::object& argnums) {
  if (py::isinstance<py::int_>(argnums)) return py::cast(grads.at(argnums.cast<size_t>()));
  py::list out;
  for (const auto& i : argnums) out.append(grads.at(i.cast<size_t>()));
  return py::tuple(out);
}

}  // namespace

void bind_np(py::module_& top) {
  py::module_ m = top.def_submodule("np", "the lazy array API");
  py::class_<Array> cls(
      m, "Array", "A lazy array: operations build an ONNX graph; values are computed when read.");
  cls.def(
      py::init([](const py::object& obj, const py::object& dtype) { return as_array(obj, dtype); }),
      py::arg("object"), py::arg("dtype") = py::none());
  using Bin = Array (*)(const Array&, const Array&);
  auto binary = [&](const char* name, const char* rname, Bin f) {
    cls.def(name, [f](const Array& a, const py::object& b) { return f(a, operand(b, a)); });
    if (rname)
      cls.def(rname, [f](const Array& a, const py::object& b) { return f(operand(b, a), a); });
  };
  binary("__add__", "__radd__", [](const Array& a, const Array& b) { return a + b; });
  binary("__sub__", "__rsub__", [](const Array& a, const Array& b) { return a - b; });
  binary("__mul__", "__rmul__", [](const Array& a, const Array& b) { return a * b; });
  binary("__truediv__", "__rtruediv__", [](const Array& a, const Array& b) { return a / b; });
  binary("__pow__", "__rpow__", [](const Array& a, const Array& b) { return a.pow(b); });
  binary("__matmul__", "__rmatmul__", [](const Array& a, const Array& b) { return a.matmul(b); });
  binary("__lt__", nullptr, [](const Array& a, const Array& b) { return a < b; });
  binary("__le__", nullptr, [](const Array& a, const Array& b) { return a <= b; });
  binary("__gt__", nullptr, [](const Array& a, const Array& b) { return a > b; });
  binary("__ge__", nullptr, [](const Array& a, const Array& b) { return a >= b; });
  binary("__eq__", nullptr, [](const Array& a, const Array& b) { return a == b; });
  binary("__ne__", nullptr, [](const Array& a, const Array& b) { return a != b; });
  binary("maximum", nullptr, [](const Array& a, const Array& b) { return a.maximum(b); });
  binary("minimum", nullptr, [](const Array& a, const Array& b) { return a.minimum(b); });
  cls.def("__neg__", [](const Array& a) { return -a; })
      .def("__getitem__",
           [](const Array& a, const py::object& key) { return a.index(index_of(key)); })
      .def_property_readonly("shape", shape_of)
      .def_property_readonly("ndim", &Array::rank)
      .def_property_readonly("dtype",
                             [](const Array& a) {
                               return py::module_::import("numpy").attr("dtype")(
                                   to_numpy(Tensor::empty(a.type().elem, {0})).attr("dtype"));
                             })
      .def_property_readonly("T", [](const Array& a) { return a.transpose(); })
      .def(
          "__array__",
          [](const Array& a, const py::object& dtype) {
            py::object v = to_numpy(a.value());
            return dtype.is_none() ? v : v.attr("astype")(dtype);
          },
          py::arg("dtype") = py::none())
      .def(
          "numpy", [](const Array& a) { return to_numpy(a.value()); },
          "The value as a NumPy array.")
      .def("item", [](const Array& a) { return to_numpy(a.value()).attr("item")(); })
      .def("__float__", [](const Array& a) { return a.item(); })
      .def("__len__", [](const Array& a) { return a.value().rank() ? a.value().dim(0) : 0; })
      .def("__repr__",
           [](const Array& a) { return "onyx.np." + std::string(py::repr(to_numpy(a.value()))); })
      .def(
          "eval",
          [](Array& a) {
            a.value();
            return a;
          },
          "Computes the value now (and keeps it).")
      .def("_eval",
           [](Array& a) {
             a.value();
             return a;
           })
      .def("exp", &Array::exp)
      .def("log", &Array::log)
      .def("sqrt", &Array::sqrt)
      .def("abs", &Array::abs)
      .def("sin", &Array::sin)
      .def("cos", &Array::cos)
      .def("tanh", &Array::tanh)
      .def("sigmoid", &Array::sigmoid)
      .def("relu", &Array::relu)
      .def("gelu", &Array::gelu)
      .def("square", &Array::square)
      .def("softmax", &Array::softmax, py::arg("axis") = -1)
      .def("log_softmax", &Array::log_softmax, py::arg("axis") = -1)
      .def("clip", [](const Array& a, const py::object& lo,
                      const py::object& hi) { return a.clip(operand(lo, a), operand(hi, a)); })
      .def(
          "sum",
          [](const Array& a, const py::object& axis, bool keepdims) {
            return a.sum(axes_of(axis), keepdims);
          },
          py::arg("axis") = py::none(), py::arg("keepdims") = false)
      .def(
          "mean",
          [](const Array& a, const py::object& axis, bool keepdims) {
            return a.mean(axes_of(axis), keepdims);
          },
          py::arg("axis") = py::none(), py::arg("keepdims") = false)
      .def(
          "max",
          [](const Array& a, const py::object& axis, bool keepdims) {
            return a.max(axes_of(axis), keepdims);
          },
          py::arg("axis") = py::none(), py::arg("keepdims") = false)
      .def(
          "min",
          [](const Array& a, const py::object& axis, bool keepdims) {
            return a.min(axes_of(axis), keepdims);
          },
          py::arg("axis") = py::none(), py::arg("keepdims") = false)
      .def(
          "argmax",
          [](const Array& a, const py::object& axis, bool keepdims) {
            if (axis.is_none()) return a.reshape({-1}).argmax(0, keepdims);  // NumPy: flattened
            return a.argmax(axis.cast<int64_t>(), keepdims);
          },
          py::arg("axis") = py::none(), py::arg("keepdims") = false)
      .def("reshape",
           [](const Array& a, const py::args& shape) {
             if (shape.size() == 1 && !py::isinstance<py::int_>(shape[0]))
               return a.reshape(shape[0].cast<Shape>());
             return a.reshape(shape.cast<Shape>());
           })
      .def("transpose",
           [](const Array& a, const py::args& perm) {
             if (perm.size() == 1 && !py::isinstance<py::int_>(perm[0]))
               return a.transpose(perm[0].cast<std::vector<int64_t>>());
             return a.transpose(perm.cast<std::vector<int64_t>>());
           })
      .def(
          "squeeze",
          [](const Array& a, const py::object& axis) { return a.squeeze(axes_of(axis)); },
          py::arg("axis") = py::none())
      .def("astype",
           [](const Array& a, const py::object& dtype) { return a.astype(onyx_dtype(dtype)); })
      .def("to_dot", &Array::to_dot, "The expression as Graphviz DOT.");

  m.def("array", &as_array, py::arg("object"), py::arg("dtype") = py::none(),
        "A lazy array holding a copy of `object` (NumPy's dtype rules; dtype= casts).");
  m.def("where", [](const py::object& c, const py::object& a, const py::object& b) {
    Array cond = py::isinstance<Array>(c) ? c.cast<Array>() : as_array(c);
    Array x = py::isinstance<Array>(a)   ? a.cast<Array>()
              : py::isinstance<Array>(b) ? operand(a, b.cast<Array>())
                                         : as_array(a);
    Array y = operand(b, x);
    return np::where(cond, x, y);
  });
  m.def(
      "concatenate",
      [](const py::sequence& arrays, int64_t axis) {
        std::vector<Array> list;
        for (const auto& a : arrays)
          list.push_back(py::isinstance<Array>(a) ? a.cast<Array>() : as_array(a));
        return np::concatenate(list, axis);
      },
      py::arg("arrays"), py::arg("axis") = 0);
  m.def(
      "stack",
      [](const py::sequence& arrays, int64_t axis) {
        std::vector<Array> list;
        for (const auto& a : arrays)
          list.push_back(py::isinstance<Array>(a) ? a.cast<Array>() : as_array(a));
        return np::stack(list, axis);
      },
      py::arg("arrays"), py::arg("axis") = 0);
  m.def("expand_dims",
        [](const Array& a, const py::object& axis) { return a.expand_dims(axes_of(axis)); });
  m.def(
      "gradients",
      [](const Array& y, const std::vector<Array>& xs) {
        py::gil_scoped_release free;
        return np::gradients(y, xs);
      },
      py::arg("y"), py::arg("xs"), "d y / d x for each x in xs (y has one element).");
  m.def("_uniform", [](Shape shape, float lo, float hi, uint64_t seed) {
    return np::uniform(std::move(shape), lo, hi, seed);
  });
  m.def("_normal", [](Shape shape, float mean, float std, uint64_t seed) {
    return np::normal(std::move(shape), mean, std, seed);
  });

  top.def(
      "value_and_grad",
      [](const py::function& f, const py::object& argnums) {
        np::ValueAndGradFunction vg = np::value_and_grad(function_of(f));
        return py::cpp_function([vg, argnums](const py::args& args) {
          std::vector<Array> in = arrays_of(args);
          // The GIL stays held: a traced function's cache of sessions is not shared across
          // threads, and tracing runs Python anyway.
          std::pair<Array, std::vector<Array>> r = vg(in);
          return py::make_tuple(r.first, pick(r.second, argnums));
        });
      },
      py::arg("f"), py::arg("argnums") = 0);
  top.def(
      "grad",
      [](const py::function& f, const py::object& argnums) {
        np::GradFunction g = np::grad(function_of(f));
        return py::cpp_function(
            [g, argnums](const py::args& args) { return pick(g(arrays_of(args)), argnums); });
      },
      py::arg("f"), py::arg("argnums") = 0);
  top.def(
      "jit",
      [](const py::function& f) {
        np::Function j = np::jit(function_of(f));
        return py::cpp_function([j](const py::args& args) { return j(arrays_of(args)); });
      },
      py::arg("f"));
  top.def(
      "to_onnx",
      [](const py::function& f, const py::args& examples) {
        return np::to_onnx(function_of(f), arrays_of(examples));
      },
      py::arg("f"));
}

}  // namespace onyx::python
