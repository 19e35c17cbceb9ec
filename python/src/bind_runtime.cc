// The runtime's Session for onyx.InferenceSession: feeds from NumPy without copies, the
// GIL released while a run executes. Session::run holds the session's own lock, so several
// Python threads may call run on one session: runs are serialised, each sees whole state.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "convert.h"
#include "interrupt.h"
#include "onyx/core/limits.h"
#include "onyx/runtime/session.h"

namespace onyx::python {

py::list describe_all(const std::vector<ir::ValueInfo>& values);

void bind_runtime(py::module_& m) {
  // The process-wide limits of core/limits.h, as the CLI's --max-memory and
  // --max-loop-iterations set them.
  m.def(
      "set_limits",
      [](const py::object& max_memory, const py::object& max_loop_iterations) {
        if (py::isinstance<py::str>(max_memory)) {
          set_memory_limit(parse_byte_size(max_memory.cast<std::string>(), "max_memory"));
        } else if (!max_memory.is_none()) {
          int64_t bytes = max_memory.cast<int64_t>();
          if (bytes <= 0) fail(ErrorKind::InvalidArgument, "max_memory must be positive");
          set_memory_limit(static_cast<size_t>(bytes));
        }
        if (!max_loop_iterations.is_none()) {
          int64_t n = max_loop_iterations.cast<int64_t>();
          if (n < 0) fail(ErrorKind::InvalidArgument, "max_loop_iterations must not be negative");
          set_max_loop_iterations(n);
        }
      },
      py::kw_only(), py::arg("max_memory") = py::none(),
      py::arg("max_loop_iterations") = py::none());
  m.def("limits", []() {
    py::dict d;
    d["max_memory"] = memory_limit();
    d["memory_in_use"] = memory_in_use();
    d["max_loop_iterations"] = max_loop_iterations();
    return d;
  });
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
              InterruptScope ctrl_c;
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
