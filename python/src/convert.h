// NumPy arrays <-> onyx values, shared by the bindings: arrays in without a copy where
// their dtype and layout allow, tensors out as arrays that own the tensor's buffer.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "onyx/core/value.h"

namespace onyx::python {

namespace py = pybind11;

// A C-contiguous array of a dtype onyx has wraps its memory (the tensor keeps the array
// alive); anything else (strided, a Python list, a scalar) is converted first. Object and
// unicode arrays become string tensors.
Tensor to_tensor(const py::handle& obj, const std::string& what);
// A tensor as an array sharing its buffer (strings are copied into an object array).
py::object to_numpy(const Tensor& t);
// Tensors as arrays, sequences as lists, optionals as None or their value.
py::object to_python(const Value& v);
// A value to feed: arrays as tensors, lists as sequences, None as an empty optional.
Value to_value(const py::handle& obj, const std::string& what);

}  // namespace onyx::python
