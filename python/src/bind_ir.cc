// onyx.Model: an ONNX model in memory (ir::Model), loaded from a path or bytes, saved
// atomically, with the input and output descriptions sessions and fit need.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "convert.h"
#include "onyx/onnx/model_io.h"

namespace onyx::python {

namespace py = pybind11;

namespace {

// (name, shape, type): dims as ints, symbolic ones as their names, unknown ones as None;
// type as onnxruntime spells it ("tensor(float)").
py::tuple describe(const ir::ValueInfo& v) {
  py::object shape = py::none();
  if (v.type.shape) {
    py::list dims;
    for (const auto& d : *v.type.shape) {
      if (d.value) {
        dims.append(*d.value);
      } else if (!d.param.empty()) {
        dims.append(d.param);
      } else {
        dims.append(py::none());
      }
    }
    shape = dims;
  }
  std::string type;
  const ir::TypeInfo* t = &v.type;
  std::string close;
  while (t &&
         (t->kind == ir::TypeInfo::Kind::Sequence || t->kind == ir::TypeInfo::Kind::Optional)) {
    type += t->kind == ir::TypeInfo::Kind::Sequence ? "seq(" : "optional(";
    close += ")";
    t = t->inner.get();
  }
  type += t ? std::string("tensor(") + dtype_name(t->elem) + ")" : "unknown";
  return py::make_tuple(v.name, shape, type + close);
}

}  // namespace

py::list describe_all(const std::vector<ir::ValueInfo>& values) {
  py::list out;
  for (const auto& v : values) out.append(describe(v));
  return out;
}

void bind_ir(py::module_& m) {
  py::class_<ir::Model>(m, "Model", "An ONNX model held by onyx.")
      .def_static("load", &onnx_io::load_model, py::arg("path"), "Reads an ONNX file.")
      .def_static(
          "from_bytes",
          [](const py::bytes& b) {
            return onnx_io::load_model_from_bytes(std::string(b), ".", "model (bytes)");
          },
          py::arg("data"), "Parses a serialized ModelProto.")
      .def(
          "to_bytes",
          [](const ir::Model& model) { return py::bytes(onnx_io::serialize_model(model)); },
          "The serialized ModelProto.")
      .def("save", &onnx_io::save_model, py::arg("path"),
           "Writes the model to `path` atomically (a temporary file, then a rename).")
      .def_property_readonly(
          "inputs", [](const ir::Model& model) { return describe_all(model.graph->fed_inputs()); },
          "(name, shape, type) of each input a caller feeds (not those with initializers).")
      .def_property_readonly(
          "outputs", [](const ir::Model& model) { return describe_all(model.graph->outputs); },
          "(name, shape, type) of each output.")
      .def_property_readonly(
          "initializers",
          [](const ir::Model& model) {
            // Read-only views: the model's tensors are shared, not copied.
            py::dict out;
            for (const auto& init : model.graph->initializers) {
              py::object a = to_numpy(init.value);
              a.attr("flags").attr("writeable") = false;
              out[py::str(init.name)] = a;
            }
            return out;
          },
          "{name: read-only array} of the inference graph's initializers (parameters, "
          "running statistics, constants), PyTorch's names for PyTorch exports.")
      .def(
          "set_initializer",
          [](ir::Model& model, const std::string& name, const py::handle& value) {
            ir::Graph& g = *model.graph;
            const ir::Initializer* old = g.find_initializer(name);
            if (!old) fail(ErrorKind::InvalidArgument, "the model has no initializer '", name, "'");
            Tensor t = to_tensor(value, "initializer '" + name + "'").clone();
            if (t.dtype() != old->value.dtype() || t.shape() != old->value.shape()) {
              fail(ErrorKind::InvalidArgument, "initializer '", name, "' is ",
                   dtype_name(old->value.dtype()), shape_str(old->value.shape()), ", not ",
                   dtype_name(t.dtype()), shape_str(t.shape()));
            }
            model.graph = std::make_shared<ir::Graph>(g);  // copies of the model share graphs
            for (auto& init : model.graph->initializers) {
              if (init.name == name) init.value = t;
            }
          },
          py::arg("name"), py::arg("value"),
          "Replaces an initializer's value (same dtype and shape; the array is copied).")
      .def_property_readonly("opset", [](const ir::Model& model) { return model.opset(""); })
      .def_property_readonly("ir_version", [](const ir::Model& model) { return model.ir_version; })
      .def_property_readonly("has_training_info",
                             [](const ir::Model& model) { return !model.training_info.empty(); })
      .def("__repr__", [](const ir::Model& model) {
        return "<onyx.Model opset " + std::to_string(model.opset("")) + ", " +
               std::to_string(model.graph->nodes.size()) + " nodes>";
      });
}

}  // namespace onyx::python
