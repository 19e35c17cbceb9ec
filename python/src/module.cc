// onyx._onyx: the extension module. Each bind_<module>.cc binds one library module; the
// Python package (python/onyx) adds the idioms on top and computes nothing itself.
#include <pybind11/pybind11.h>

namespace onyx::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_ir(py::module_& m);
void bind_runtime(py::module_& m);
void bind_autodiff(py::module_& m);
void bind_train(py::module_& m);
void bind_np(py::module_& m);
void bind_nn(py::module_& m);
void note_main_thread();

}  // namespace onyx::python

PYBIND11_MODULE(_onyx, m) {
  m.doc() = "onyx's C++ library (use the onyx package, not this module)";
  m.attr("__version__") = ONYX_VERSION;
  onyx::python::note_main_thread();
  onyx::python::bind_errors(m);
  onyx::python::bind_ir(m);
  onyx::python::bind_runtime(m);
  onyx::python::bind_autodiff(m);
  onyx::python::bind_train(m);
  onyx::python::bind_np(m);
  onyx::python::bind_nn(m);
}
