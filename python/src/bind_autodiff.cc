// onyx.autodiff: gradient graphs and training steps as ONNX models.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "onyx/autodiff/embedded_training.h"
#include "onyx/autodiff/vjp.h"
#include "options.h"

namespace onyx::python {

void bind_autodiff(py::module_& m) {
  m.def(
      "grad_model",
      [](const ir::Model& model, std::vector<std::string> wrt, int64_t opset) {
        autodiff::GradOptions o;
        o.wrt = std::move(wrt);
        o.opset = opset;
        py::gil_scoped_release free;
        return autodiff::build_gradient_model(model, o);
      },
      py::arg("model"), py::arg("wrt") = std::vector<std::string>{}, py::arg("opset") = 0);
  m.def(
      "make_training",
      [](const ir::Model& model, bool training_info, py::kwargs kwargs) {
        py::dict kw(kwargs);
        autodiff::TrainingOptions o;
        o.optimizer = "adam";  // the CLI's default
        take_step_options(kw, o);
        reject_unknown(kw, "make_training");
        py::gil_scoped_release free;
        return training_info ? autodiff::embed_training_step(model, o)
                             : autodiff::build_training_step(model, o).model;
      },
      py::arg("model"), py::arg("training_info") = false);
}

}  // namespace onyx::python
