// Keyword arguments -> the library's option structs, with the CLI's flag names
// (underscored): an unknown keyword is an InvalidArgument listing the known ones.
#pragma once

#include <pybind11/pybind11.h>

#include "onyx/autodiff/training.h"

namespace onyx::python {

namespace py = pybind11;

// Moves kw[key] (when given and not None) into `into`.
template <typename T>
void take(py::dict& kw, const char* key, T& into) {
  if (!kw.contains(key)) return;
  py::object v = kw[key];
  kw.attr("pop")(key);
  if (!v.is_none()) into = v.cast<T>();
}

// Fills `o` from the keys of `kw` that name training-step options, removing them from kw.
void take_step_options(py::dict& kw, autodiff::TrainingOptions& o);
// An error naming the keys left in `kw` (none: nothing happens).
void reject_unknown(const py::dict& kw, const char* function);

}  // namespace onyx::python
