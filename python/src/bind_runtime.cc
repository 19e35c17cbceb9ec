// The runtime's Session for onyx.InferenceSession: feeds from NumPy without copies, the
// GIL released while a run executes. Session::run holds the session's own lock, so several
// Python threads may call run on one session: runs are serialised, each sees whole state.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "convert.h"
#include "onyx/runtime/session.h"

namespace onyx::python {

py::list describe_all(const std::vector<ir::ValueInfo>& values);

void bind_runtime(py::module_& m) {
  py::class_<runtime::Session>(m, "Session", "A model planned once for execution.")
      .def(py::init([](const ir::Model& model, int threads, bool optimize) {
             runtime::SessionOptions o;
             o.threads = threads;
             o.optimize = optimize;
             py::gil_scoped_release free;
             return std::make_unique<runtime::Session>(model, o);
           }),
           py::arg("model"), py::arg("threads") = 0, py::arg("optimize") = true)
      .def_property_readonly(
          "inputs",
          [](const runtime::Session& s) { return describe_all(s.model().graph->fed_inputs()); })
      .def_property_readonly("outputs",
                             [](const runtime::Session& s) { return describe_all(s.outputs()); })
      .def_property_readonly("threads", &runtime::Session::threads)
      .def(
          "run",
          [](runtime::Session& s, const py::object& output_names, const py::dict& feeds) {
            runtime::NamedValues values;
            for (const auto& [k, v] : feeds) {
              std::string name = py::str(k);
              values.emplace_back(name, to_value(v, "input '" + name + "'"));
            }
            std::vector<size_t> pick;
            const auto& outs = s.outputs();
            if (!output_names.is_none()) {
              for (const auto& n : output_names) {
                std::string want = py::str(n);
                size_t i = 0;
                while (i < outs.size() && outs[i].name != want) ++i;
                if (i == outs.size()) {
                  std::string all;
                  for (const auto& o : outs) all += (all.empty() ? "" : ", ") + o.name;
                  fail(ErrorKind::InvalidArgument, "'", want, "' is not an output of the model (",
                       all, ")");
                }
                pick.push_back(i);
              }
            }
            std::vector<Value> results;
            {
              py::gil_scoped_release free;
              results = s.run(values);
            }
            py::list out;
            if (output_names.is_none()) {
              for (const auto& r : results) out.append(to_python(r));
            } else {
              for (size_t i : pick) out.append(to_python(results[i]));
            }
            return out;
          },
          py::arg("output_names"), py::arg("feeds"));
}

}  // namespace onyx::python
