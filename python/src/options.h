// Keyword arguments -> the library's option structs, with the CLI's flag names
// (underscored): an unknown keyword is an InvalidArgument listing the known ones.
#pragma once

#include <pybind11/pybind11.h>

#include "onyx/autodiff/training.h"

namespace onyx::python {

namespace py = pybind11;

// Fills `o` from the keys of `kw` that name training-step options, removing them from kw.
void take_step_options(py::dict& kw, autodiff::TrainingOptions& o);
// An error naming the keys left in `kw` (none: nothing happens).
void reject_unknown(const py::dict& kw, const char* function);

}  // namespace onyx::python
