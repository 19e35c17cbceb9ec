// onyx::Error as Python exceptions: onyx.Error, and a subclass per kind (also deriving from
// the built-in exception a Python user would catch for it), with the library's message.
#include <pybind11/pybind11.h>

#include "onyx/core/error.h"

namespace onyx::python {

namespace py = pybind11;

namespace {

struct Kind {
  ErrorKind kind;
  const char* name;
  PyObject* builtin;  // a second base, or nullptr
  PyObject* cls = nullptr;
};

Kind kinds[] = {
    {ErrorKind::InvalidModel, "InvalidModel", PyExc_ValueError},
    {ErrorKind::InvalidArgument, "InvalidArgument", PyExc_ValueError},
    {ErrorKind::Unsupported, "Unsupported", PyExc_NotImplementedError},
    {ErrorKind::Io, "IoError", PyExc_OSError},
    {ErrorKind::ResourceLimit, "ResourceLimit", PyExc_MemoryError},
};
PyObject* base = nullptr;

}  // namespace

void bind_errors(py::module_& m) {
  base = PyErr_NewExceptionWithDoc("onyx.Error", "An error reported by onyx.", PyExc_RuntimeError,
                                   nullptr);
  m.add_object("Error", py::handle(base));
  for (Kind& k : kinds) {
    py::tuple bases = k.builtin ? py::make_tuple(py::handle(base), py::handle(k.builtin))
                                : py::make_tuple(py::handle(base));
    std::string qualified = std::string("onyx.") + k.name;
    k.cls = PyErr_NewException(qualified.c_str(), bases.ptr(), nullptr);
    m.add_object(k.name, py::handle(k.cls));
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Interrupted) {  // Ctrl-C (interrupt.h): what Python raises
        PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
        return;
      }
      for (const Kind& k : kinds) {
        if (k.kind == e.kind()) {
          PyErr_SetString(k.cls, e.what());
          return;
        }
      }
      PyErr_SetString(base, e.what());
    }
  });
}

}  // namespace onyx::python
