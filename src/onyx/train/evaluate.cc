#include "onyx/train/evaluate.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "onyx/autodiff/losses.h"
#include "onyx/core/file_util.h"
#include "onyx/data/batches.h"
#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"
#include "onyx/train/feeds.h"

namespace onyx::train {

namespace {

runtime::NamedValues as_feeds(const std::vector<data::Feed>& batch, const std::string& skip) {
  runtime::NamedValues feeds;
  for (const auto& f : batch) {
    if (f.name != skip) feeds.emplace_back(f.name, f.value);
  }
  return feeds;
}

// The index of the output named `name`, or of the first floating-point one.
size_t output_index(const runtime::Session& s, const std::string& name, const std::string& model) {
  const auto& outs = s.outputs();
  for (size_t i = 0; i < outs.size(); ++i) {
    if (name.empty() ? is_floating(outs[i].type.elem) || outs[i].type.elem == DType::Undefined
                     : outs[i].name == name)
      return i;
  }
  if (name.empty()) fail(ErrorKind::InvalidArgument, model, ": no floating-point output");
  fail(ErrorKind::InvalidArgument, model, ": no output '", name, "'");
}

// `labels` as the dataset holds them: the feed named like the labels input, or "labels".
const Tensor& labels_of(const data::Dataset& d, const std::string& label) {
  if (const Tensor* t = d.find(label)) return *t;
  if (const Tensor* t = d.find("labels")) return *t;
  return d.at(label);  // the error lists the feeds
}

}  // namespace

ir::Model inference_model(const ir::Model& checkpoint) {
  ir::Model m = checkpoint;
  m.training_info.clear();  // the inference graph already holds the weights
  std::erase_if(m.metadata_props, [](const auto& kv) { return kv.first.starts_with("onyx."); });
  return m;
}

std::vector<MetricValue> evaluate(const ir::Model& checkpoint, const data::Dataset& data,
                                  const EvalOptions& o) {
  std::vector<Metric> wanted;
  bool with_loss = false;
  for (const auto& name : o.metrics) {
    wanted.push_back(metric_named(name));
    with_loss = with_loss || !wanted.back().def;
  }
  ir::Model model = inference_model(checkpoint);
  autodiff::TrainingOptions step = o.step;
  step.train_mode = false;
  if (with_loss) model = autodiff::build_loss_model(model, step);
  runtime::SessionOptions so;
  so.threads = o.threads;
  runtime::Session session(model, so);
  size_t pred = with_loss ? 1 : output_index(session, o.step.output, checkpoint.name_for_errors());
  // Labels stay as the data holds them for the metrics; the loss model takes them fitted.
  std::vector<ir::ValueInfo> inputs = model.graph->fed_inputs();
  data::Dataset fitted = fit_feeds(data, inputs, o.step.label, checkpoint.name_for_errors());
  if (!with_loss) fitted.add(o.step.label, labels_of(data, o.step.label));
  MetricContext ctx{o.step.class_axis, o.step.loss == "bce-with-logits"};
  std::vector<MetricValue> values;
  for (const auto& m : wanted) values.push_back({m.name, 0, 0});
  data::Batches batches(fitted, {o.batch_size, 0, false, false});
  batches.begin_epoch();
  for (int64_t b = 0; b < batches.batches_per_epoch(); ++b) {
    std::vector<data::Feed> batch = batches.batch(b);
    const Tensor* labels = nullptr;
    for (const auto& f : batch) {
      if (f.name == o.step.label) labels = &f.value;
    }
    std::vector<Value> out = session.run(as_feeds(batch, with_loss ? "" : o.step.label));
    const Tensor& y = out[pred].tensor();
    int64_t n = batch[0].value.dim(0);
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (!wanted[i].def) {
        values[i].sum += out[0].tensor().element_as_double(0) * static_cast<double>(n);
        values[i].count += static_cast<double>(n);
      } else {
        wanted[i].def->add(values[i], y, *labels, ctx, wanted[i].k);
      }
    }
  }
  return values;
}

Tensor predict(const ir::Model& checkpoint, const data::Dataset& data, const std::string& output,
               int threads, int64_t batch_size) {
  ir::Model model = inference_model(checkpoint);
  runtime::SessionOptions so;
  so.threads = threads;
  runtime::Session session(model, so);
  size_t pred = output_index(session, output, checkpoint.name_for_errors());
  data::Dataset fitted =
      fit_feeds(data, model.graph->fed_inputs(), "labels", checkpoint.name_for_errors());
  data::Batches batches(fitted, {batch_size, 0, false, false});
  batches.begin_epoch();
  Tensor all;
  int64_t at = 0;
  for (int64_t b = 0; b < batches.batches_per_epoch(); ++b) {
    std::vector<data::Feed> batch = batches.batch(b);
    Tensor y = session.run(as_feeds(batch, ""))[pred].tensor();
    Shape want = all.defined() ? all.shape() : y.shape();
    if (!want.empty()) want[0] = batch[0].value.dim(0);
    if (y.rank() == 0 || y.shape() != want) {
      fail(ErrorKind::InvalidArgument, checkpoint.name_for_errors(), ": output '",
           session.outputs()[pred].name, "' is ", dtype_name(y.dtype()), shape_str(y.shape()),
           " for a batch of ", batch[0].value.dim(0),
           " samples; predictions need one row a sample");
    }
    if (!all.defined()) {
      Shape shape = y.shape();
      shape[0] = data.size();
      all = Tensor::empty(y.dtype(), shape);
    }
    size_t bytes = y.nbytes();
    std::memcpy(static_cast<char*>(all.raw_data()) + at, y.raw_data(), bytes);
    at += static_cast<int64_t>(bytes);
  }
  return all;
}

void save_predictions(const Tensor& y, const std::string& name, const std::string& path) {
  if (path.ends_with(".npy")) return onnx_io::save_npy(y, path);
  if (!path.ends_with(".csv")) {
    fail(ErrorKind::InvalidArgument, path, ": predictions are written to .npy or .csv files");
  }
  int64_t n = y.dim(0), per = n ? y.numel() / n : 0;
  bool classes = y.rank() == 2 && per > 1;
  std::ostringstream out;
  out.precision(9);
  out << "index";
  if (classes) out << ",class";
  for (int64_t j = 0; j < per; ++j) {
    out << "," << name;
    if (per > 1) out << "_" << j;
  }
  out << "\n";
  for (int64_t i = 0; i < n; ++i) {
    out << i;
    if (classes) {
      int64_t best = 0;
      for (int64_t j = 1; j < per; ++j)
        best = y.element_as_double(i * per + j) > y.element_as_double(i * per + best) ? j : best;
      out << "," << best;
    }
    for (int64_t j = 0; j < per; ++j) out << "," << y.element_as_double(i * per + j);
    out << "\n";
  }
  write_file_atomic(path, out.str());
}

}  // namespace onyx::train
