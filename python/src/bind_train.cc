// onyx.train: fit, evaluate and predict over NumPy arrays or any data source the C++
// trainer reads, through train::Trainer, evaluate and predict (the CLI's code).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>

#include "convert.h"
#include "interrupt.h"
#include "onyx/core/interrupt.h"
#include "onyx/train/datasets.h"
#include "onyx/train/trainer.h"
#include "options.h"

namespace onyx::python {

namespace {

// Arrays by feed name, or a path (as onyx train --data takes it).
data::Dataset dataset(const py::handle& data, const train::DataOptions& d, const ir::Model& model,
                      bool eval) {
  if (py::isinstance<py::str>(data)) {
    train::DataOptions o = d;
    o.path = data.cast<std::string>();
    return eval ? train::load_eval_data(o, model) : train::load_training_data(o, model).train;
  }
  if (!py::isinstance<py::dict>(data)) {
    fail(ErrorKind::InvalidArgument, "data must be a dict of arrays by feed name or a path");
  }
  data::Dataset out("arrays");
  for (const auto& [k, v] : py::reinterpret_borrow<py::dict>(data)) {
    std::string name = py::str(k);
    out.add(name, to_tensor(v, "array '" + name + "'"));
  }
  return out;
}

void take_data_options(py::dict& kw, train::DataOptions& d) {
  take(kw, "target", d.target);
  take(kw, "mean", d.mean);
  take(kw, "std", d.std);
}

py::dict metrics_dict(const std::vector<train::MetricValue>& values) {
  py::dict out;
  for (const auto& m : values) out[py::str(m.name)] = m.value();
  return out;
}

}  // namespace

void bind_train(py::module_& m) {
  m.def(
      "fit",
      [](const ir::Model& model, const py::object& data, const py::object& validation,
         const py::object& progress, py::kwargs kwargs) {
        py::dict kw(kwargs);
        train::Options o;
        o.step.optimizer = "adam";  // the CLI's defaults
        train::DataOptions d;
        std::string resume, schedule_per = "step";
        double val_split = 0;
        take(kw, "epochs", o.epochs);
        take(kw, "batch_size", o.batch_size);
        take(kw, "drop_last", o.drop_last);
        take(kw, "shuffle", o.shuffle);
        take(kw, "seed", o.seed);
        take(kw, "threads", o.threads);
        take(kw, "checkpoint_dir", o.checkpoint_dir);
        take(kw, "checkpoint_every", o.checkpoint_every);
        take(kw, "metrics", o.metrics);
        take(kw, "monitor", o.monitor);
        take(kw, "early_stop", o.early_stop);
        take(kw, "schedule_per", schedule_per);
        take(kw, "validation_split", val_split);
        take(kw, "resume", resume);
        take_data_options(kw, d);
        take_step_options(kw, o.step);
        reject_unknown(kw, "fit");
        o.schedule_per_epoch = schedule_per == "epoch";
        d.label = o.step.label;
        d.seed = o.seed;
        d.val_split = val_split;
        data::Dataset train, val;
        if (py::isinstance<py::str>(data)) {
          train::DataOptions p = d;
          p.path = data.cast<std::string>();
          if (py::isinstance<py::str>(validation)) p.val_path = validation.cast<std::string>();
          train::TrainingData td = train::load_training_data(p, model);
          train = td.train;
          val = td.val;
          if (!validation.is_none() && p.val_path.empty())
            val = dataset(validation, d, model, true);
        } else {
          train = dataset(data, d, model, false);
          if (!validation.is_none()) {
            val = dataset(validation, d, model, true);
          } else if (val_split > 0) {
            std::tie(train, val) = data::random_split(train, val_split, o.seed);
          }
        }
        std::unique_ptr<train::Trainer> trainer =
            resume.empty()
                ? std::make_unique<train::Trainer>(model, train, val, o)
                : std::make_unique<train::Trainer>(train::Trainer::resume(resume, train, val, o));
        // A Python exception in the progress callback stops the run and is raised again.
        std::unique_ptr<py::error_already_set> raised;
        auto on_batch = [&](const train::Progress& p) {
          if (progress.is_none()) return;
          py::gil_scoped_acquire gil;
          try {
            progress(p.epoch, p.epochs, p.batch, p.batches, p.loss, p.samples_per_s);
          } catch (py::error_already_set& e) {
            if (e.matches(PyExc_KeyboardInterrupt)) {
              // Ctrl-C while the callback ran: stop as between any two steps, checkpoint
              // first (the trainer raises it again, with where it stopped).
              request_interrupt();
              return;
            }
            raised = std::make_unique<py::error_already_set>(std::move(e));
            throw Error(ErrorKind::Internal, "stopped by the progress callback");
          }
        };
        py::dict history;
        history["loss"] = py::list();
        std::vector<train::EpochResult> results;
        try {
          InterruptScope ctrl_c;
          py::gil_scoped_release free;
          results = trainer->run(on_batch);
        } catch (const Error&) {
          if (raised) throw *raised;
          throw;
        }
        for (const auto& r : results) {
          history["loss"].cast<py::list>().append(r.train_loss);
          for (const auto& v : r.val) {
            py::str key("val_" + v.name);
            if (!history.contains(key)) history[key] = py::list();
            history[key].cast<py::list>().append(v.value());
          }
        }
        return py::make_tuple(train::inference_model(trainer->checkpoint()), history,
                              trainer->stopped_early());
      },
      py::arg("model"), py::arg("data"), py::arg("validation_data") = py::none(),
      py::arg("progress") = py::none());

  m.def(
      "evaluate",
      [](const ir::Model& model, const py::object& data, py::kwargs kwargs) {
        py::dict kw(kwargs);
        train::EvalOptions e;
        train::DataOptions d;
        take(kw, "metrics", e.metrics);
        take(kw, "batch_size", e.batch_size);
        take(kw, "threads", e.threads);
        take_data_options(kw, d);
        take_step_options(kw, e.step);
        reject_unknown(kw, "evaluate");
        d.label = e.step.label;
        data::Dataset set = dataset(data, d, model, true);
        std::vector<train::MetricValue> values;
        {
          InterruptScope ctrl_c;
          py::gil_scoped_release free;
          values = train::evaluate(model, set, e);
        }
        return metrics_dict(values);
      },
      py::arg("model"), py::arg("data"));

  m.def(
      "predict",
      [](const ir::Model& model, const py::object& data, const std::string& output, int threads,
         int64_t batch_size) {
        data::Dataset set = dataset(data, {}, model, true);
        Tensor y;
        {
          InterruptScope ctrl_c;
          py::gil_scoped_release free;
          y = train::predict(model, set, output, threads, batch_size);
        }
        return to_numpy(y);
      },
      py::arg("model"), py::arg("data"), py::arg("output") = "", py::arg("threads") = 0,
      py::arg("batch_size") = 256);
}

}  // namespace onyx::python
