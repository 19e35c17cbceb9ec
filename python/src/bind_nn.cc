// onyx.nn: the layer API (onyx::nn) with PyTorch's constructor arguments; a Sequential's
// model has PyTorch's parameter names ("0.weight"), readable and writable through
// onyx.Model.initializers / set_initializer.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "onyx/core/error.h"
#include "onyx/nn/layers.h"
#include "onyx/onnx/model_io.h"

namespace onyx::python {

namespace py = pybind11;

namespace {

nn::Init init_named(const std::string& name) {
  static const std::pair<const char*, nn::Init> table[] = {
      {"default", nn::Init::Default},
      {"kaiming_uniform", nn::Init::KaimingUniform},
      {"kaiming_normal", nn::Init::KaimingNormal},
      {"xavier_uniform", nn::Init::XavierUniform},
      {"xavier_normal", nn::Init::XavierNormal},
  };
  for (const auto& [n, i] : table) {
    if (name == n) return i;
  }
  fail(ErrorKind::InvalidArgument, "unknown init '", name,
       "' (default, kaiming_uniform, kaiming_normal, xavier_uniform, xavier_normal)");
}

}  // namespace

void bind_nn(py::module_& top) {
  py::module_ m = top.def_submodule("nn", "the layer API");
  py::class_<nn::Module, std::shared_ptr<nn::Module>>(m, "Module")
      .def("__repr__", &nn::Module::describe);
  auto layer = [](const nn::Layer& l) { return std::const_pointer_cast<nn::Module>(l); };
  m.def(
      "Linear",
      [=](int64_t in, int64_t out, bool bias, const std::string& init) {
        return layer(nn::Linear(in, out, {bias, init_named(init)}));
      },
      py::arg("in_features"), py::arg("out_features"), py::arg("bias") = true,
      py::arg("init") = "default");
  m.def(
      "Conv2d",
      [=](int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, int64_t dilation,
          int64_t groups, bool bias, const std::string& init) {
        return layer(
            nn::Conv2d(in, out, k, {stride, padding, dilation, groups, bias, init_named(init)}));
      },
      py::arg("in_channels"), py::arg("out_channels"), py::arg("kernel_size"),
      py::arg("stride") = 1, py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1,
      py::arg("bias") = true, py::arg("init") = "default");
  m.def(
      "MaxPool2d",
      [=](int64_t k, const py::object& stride, int64_t padding) {
        return layer(nn::MaxPool2d(k, stride.is_none() ? 0 : stride.cast<int64_t>(), padding));
      },
      py::arg("kernel_size"), py::arg("stride") = py::none(), py::arg("padding") = 0);
  m.def(
      "AvgPool2d",
      [=](int64_t k, const py::object& stride, int64_t padding) {
        return layer(nn::AvgPool2d(k, stride.is_none() ? 0 : stride.cast<int64_t>(), padding));
      },
      py::arg("kernel_size"), py::arg("stride") = py::none(), py::arg("padding") = 0);
  m.def(
      "BatchNorm2d",
      [=](int64_t n, double eps, double momentum) {
        return layer(nn::BatchNorm2d(n, eps, momentum));
      },
      py::arg("num_features"), py::arg("eps") = 1e-5, py::arg("momentum") = 0.1);
  m.def(
      "Dropout", [=](double p) { return layer(nn::Dropout(p)); }, py::arg("p") = 0.5);
  m.def("Flatten", [=]() { return layer(nn::Flatten()); });
  m.def("ReLU", [=]() { return layer(nn::ReLU()); });
  m.def(
      "LeakyReLU", [=](double s) { return layer(nn::LeakyReLU(s)); },
      py::arg("negative_slope") = 0.01);
  m.def("Sigmoid", [=]() { return layer(nn::Sigmoid()); });
  m.def("Tanh", [=]() { return layer(nn::Tanh()); });
  m.def("GELU", [=]() { return layer(nn::GELU()); });
  m.def(
      "Softmax", [=](int64_t dim) { return layer(nn::Softmax(dim)); }, py::arg("dim") = -1);
  m.def(
      "LogSoftmax", [=](int64_t dim) { return layer(nn::LogSoftmax(dim)); }, py::arg("dim") = -1);

  py::class_<nn::Sequential>(m, "Sequential", "Layers in order, built into an ONNX model.")
      .def(py::init([](const py::args& layers) {
        std::vector<nn::Layer> list;
        for (const auto& l : layers) list.push_back(l.cast<std::shared_ptr<nn::Module>>());
        return nn::Sequential(std::move(list));
      }))
      .def("to_onnx", &nn::Sequential::to_onnx, py::arg("input_shape"), py::arg("seed") = 0,
           "The model: input \"input\" [N, *input_shape], output \"output\", parameters named "
           "as PyTorch's state_dict, initialised as PyTorch's defaults from `seed`.")
      .def("save", &nn::Sequential::save, py::arg("path"), py::arg("input_shape"),
           py::arg("seed") = 0)
      .def("__len__", [](const nn::Sequential& s) { return s.layers().size(); })
      .def("__repr__", &nn::Sequential::describe);
}

}  // namespace onyx::python
