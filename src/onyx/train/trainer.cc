#include "onyx/train/trainer.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "onyx/autodiff/embedded_training.h"
#include "onyx/core/interrupt.h"
#include "onyx/data/batches.h"
#include "onyx/onnx/model_io.h"
#include "onyx/train/feeds.h"
#include "onyx/train/step_runner.h"

namespace onyx::train {

namespace {

using Clock = std::chrono::steady_clock;

const std::string* find_metadata(const ir::Model& m, const std::string& key) {
  for (const auto& [k, v] : m.metadata_props) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string metadata(const ir::Model& m, const std::string& key) {
  if (const std::string* v = find_metadata(m, key)) return *v;
  fail(ErrorKind::InvalidArgument, m.path, ": not an onyx checkpoint (no metadata '", key, "')");
}

// An integer of the checkpoint's metadata in [lo, hi], parsed whole (no trailing text).
int64_t metadata_int(const ir::Model& m, const std::string& key, int64_t lo, int64_t hi) {
  std::string text = metadata(m, key);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    fail(ErrorKind::InvalidArgument, m.path, ": checkpoint metadata '", key, "' is '", text,
         "', not an integer in [", lo, ", ", hi, "]");
  }
  return v;
}

void set_metadata(ir::Model& m, const std::string& key, const std::string& value) {
  for (auto& [k, v] : m.metadata_props) {
    if (k == key) {
      v = value;
      return;
    }
  }
  m.metadata_props.emplace_back(key, value);
}

std::string exact(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

data::BatchOptions batch_options(const Options& o) {
  return {o.batch_size, o.seed, o.shuffle, o.drop_last};
}

// The metric list with the loss first, once.
std::vector<std::string> with_loss_first(const std::vector<std::string>& metrics) {
  std::vector<std::string> out{"loss"};
  for (const auto& m : metrics) {
    metric_named(m);
    if (m != "loss") out.push_back(m);
  }
  return out;
}

}  // namespace

const MetricValue* EpochResult::metric(const std::string& name) const {
  for (const auto& m : val) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

struct Trainer::State {
  State(ir::Model c, const data::Dataset& tr, const data::Dataset& va, Options opt)
      : ckpt(std::move(c)), o(std::move(opt)), runner(ckpt, o.threads) {
    o.metrics = with_loss_first(o.metrics);
    std::vector<ir::ValueInfo> feeds = runner.feeds();
    train = fit_feeds(tr, feeds, o.step.label, ckpt.name_for_errors());
    if (va.size()) val = va;
    batches = std::make_unique<data::Batches>(train, batch_options(o));
    metric_named(o.monitor);
    if (val.size() == 0 && o.monitor != "loss") {
      fail(ErrorKind::InvalidArgument, "the monitored metric '", o.monitor,
           "' needs validation data");
    }
    if (std::find(o.metrics.begin(), o.metrics.end(), o.monitor) == o.metrics.end())
      o.metrics.push_back(o.monitor);
  }

  ir::Model ckpt;  // model, training step and state
  Options o;
  StepRunner runner;
  data::Dataset train, val;
  std::unique_ptr<data::Batches> batches;
  int epochs_done = 0;
  int64_t steps_done = 0;
  double best = std::nan("");
  int bad_epochs = 0;
  bool stopped = false;
  // Inside an epoch (a checkpoint an interrupt writes): the batch order's state before the
  // epoch began, the batches done, and their loss sum and samples for the epoch's mean.
  bool in_epoch = false;
  std::string epoch_start;
  int64_t epoch_batch = 0, epoch_samples = 0;
  double epoch_loss = 0;

  ir::Model current() const {
    ir::Model m = ckpt;
    runner.store(m);  // copies the graphs it writes
    set_metadata(m, "onyx.epoch", std::to_string(epochs_done));
    set_metadata(m, "onyx.step", std::to_string(steps_done));
    set_metadata(m, "onyx.batch_size", std::to_string(o.batch_size));
    set_metadata(m, "onyx.batches", in_epoch ? epoch_start : batches->state());
    set_metadata(m, "onyx.epoch_batch", std::to_string(in_epoch ? epoch_batch : 0));
    set_metadata(m, "onyx.epoch_loss", exact(in_epoch ? epoch_loss : 0));
    set_metadata(m, "onyx.epoch_samples", std::to_string(in_epoch ? epoch_samples : 0));
    record_monitor(m);
    return m;
  }

  // Stops the run on an interrupt: last.onnx resumes at batch `b` of the current epoch.
  [[noreturn]] void interrupted(int64_t b, int64_t n, double loss_sum, int64_t samples) {
    in_epoch = true;
    epoch_batch = b;
    epoch_loss = loss_sum;
    epoch_samples = samples;
    std::string where = cat("interrupted after step ", steps_done, " (epoch ", epochs_done + 1,
                            ", batch ", b, " of ", n, ")");
    if (o.checkpoint_dir.empty())
      fail(ErrorKind::Interrupted, where, "; no checkpoints were asked for");
    std::string last = (std::filesystem::path(o.checkpoint_dir) / "last.onnx").string();
    onnx_io::save_model(current(), last);
    fail(ErrorKind::Interrupted, where, "; ", last, " continues it (--resume)");
  }

  // The early-stopping state, which changes after the epoch's evaluation.
  void record_monitor(ir::Model& m) const {
    set_metadata(m, "onyx.best", exact(best));
    set_metadata(m, "onyx.bad_epochs", std::to_string(bad_epochs));
  }

  bool improved(double v) const {
    if (std::isnan(best)) return true;
    return metric_named(o.monitor).higher_is_better() ? v > best : v < best;
  }
};

Trainer::Trainer(std::unique_ptr<State> s) : s_(std::move(s)) {}

namespace {

// The step options with per-epoch schedules counting this run's optimizer steps.
autodiff::TrainingOptions step_options(const Options& o, const data::Dataset& train) {
  autodiff::TrainingOptions step = o.step;
  if (o.schedule_per_epoch) {
    int64_t n = data::Batches::count(train.size(), batch_options(o));
    int64_t per_epoch = std::max<int64_t>(1, n / std::max<int64_t>(1, step.accumulate));
    for (auto& s : step.schedules) {
      if (s.every == 0) s.every = per_epoch;
    }
  }
  return step;
}

}  // namespace

Trainer::Trainer(const ir::Model& model, const data::Dataset& train, const data::Dataset& val,
                 Options options)
    : Trainer(std::make_unique<State>(
          autodiff::embed_training_step(model, step_options(options, train)), train, val,
          options)) {}

ResumePoint resume_point(const ir::Model& ckpt) {
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  ResumePoint at;
  at.batch_size = metadata_int(ckpt, "onyx.batch_size", 1, std::numeric_limits<int32_t>::max());
  at.epochs_done = static_cast<int>(metadata_int(ckpt, "onyx.epoch", 0, kIntMax));
  at.steps_done = metadata_int(ckpt, "onyx.step", 0, std::numeric_limits<int64_t>::max());
  at.batches = metadata(ckpt, "onyx.batches");
  // Written mid-epoch by an interrupt (absent in checkpoints of an epoch's end).
  if (find_metadata(ckpt, "onyx.epoch_batch")) {
    at.epoch_batch = metadata_int(ckpt, "onyx.epoch_batch", 0, std::numeric_limits<int64_t>::max());
    at.epoch_samples =
        metadata_int(ckpt, "onyx.epoch_samples", 0, std::numeric_limits<int64_t>::max());
    const std::string loss = metadata(ckpt, "onyx.epoch_loss");
    auto [end, ec] = std::from_chars(loss.data(), loss.data() + loss.size(), at.epoch_loss);
    if (ec != std::errc() || end != loss.data() + loss.size()) {
      fail(ErrorKind::InvalidArgument, ckpt.path, ": checkpoint metadata 'onyx.epoch_loss' is '",
           loss, "', not a number");
    }
  }
  if (const std::string* b = find_metadata(ckpt, "onyx.best")) {
    // Written with 17 digits; "nan" while no epoch has been evaluated.
    auto [end, ec] = std::from_chars(b->data(), b->data() + b->size(), at.best);
    if (ec != std::errc() || end != b->data() + b->size()) {
      fail(ErrorKind::InvalidArgument, ckpt.path, ": checkpoint metadata 'onyx.best' is '", *b,
           "', not a number");
    }
  }
  if (find_metadata(ckpt, "onyx.bad_epochs")) {
    at.bad_epochs = static_cast<int>(metadata_int(ckpt, "onyx.bad_epochs", 0, kIntMax));
  }
  return at;
}

Trainer Trainer::resume(const std::string& checkpoint, const data::Dataset& train,
                        const data::Dataset& val, Options options) {
  ir::Model ckpt = onnx_io::load_model(checkpoint);
  // The checkpoint fixes what an exact continuation needs.
  ResumePoint at = resume_point(ckpt);
  options.batch_size = at.batch_size;
  auto s = std::make_unique<State>(ckpt, train, val, options);
  s->epochs_done = at.epochs_done;
  s->steps_done = at.steps_done;
  s->batches->set_state(at.batches, ckpt.path);
  s->best = at.best;
  s->bad_epochs = at.bad_epochs;
  if (at.epoch_batch > s->batches->batches_per_epoch()) {
    fail(ErrorKind::InvalidArgument, ckpt.path, ": checkpoint metadata 'onyx.epoch_batch' is ",
         at.epoch_batch, ", past the ", s->batches->batches_per_epoch(), " batches of an epoch");
  }
  s->epoch_batch = at.epoch_batch;
  s->epoch_loss = at.epoch_loss;
  s->epoch_samples = at.epoch_samples;
  return Trainer(std::move(s));
}

Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;

int Trainer::epochs_done() const {
  return s_->epochs_done;
}

bool Trainer::stopped_early() const {
  return s_->stopped;
}

ir::Model Trainer::checkpoint() const {
  return s_->current();
}

std::vector<EpochResult> Trainer::run(const std::function<void(const Progress&)>& progress,
                                      const std::function<void(const EpochResult&)>& epoch_done) {
  State& s = *s_;
  std::ofstream csv;
  if (!s.o.loss_csv.empty()) {
    bool fresh = s.epochs_done == 0 || !std::filesystem::exists(s.o.loss_csv);
    csv.open(s.o.loss_csv, fresh ? std::ios::trunc : std::ios::app);
    if (!csv) fail(ErrorKind::Io, s.o.loss_csv, ": cannot write");
    if (fresh) {
      // test_accuracy stays fourth (onyx plot reads it); every validation metric follows.
      csv << "step,epoch,loss,test_accuracy";
      for (const auto& m : s.o.metrics) csv << ",val_" << m;
      csv << "\n";
    }
  }
  std::filesystem::path dir(s.o.checkpoint_dir);
  if (!s.o.checkpoint_dir.empty()) std::filesystem::create_directories(dir);
  EvalOptions eval{s.o.step, s.o.metrics, s.o.threads, 256};
  std::vector<EpochResult> results;
  while (s.epochs_done < s.o.epochs && !s.stopped) {
    int epoch = s.epochs_done + 1;
    // run() again after an interrupt: the interrupted epoch's order once more.
    if (s.in_epoch) s.batches->set_state(s.epoch_start, s.ckpt.name_for_errors());
    s.epoch_start = s.batches->state();
    s.batches->begin_epoch();
    int64_t n = s.batches->batches_per_epoch(), samples = s.epoch_samples;
    double loss_sum = s.epoch_loss;
    int64_t first = s.epoch_batch;  // past 0 when resuming mid-epoch
    s.epoch_batch = s.epoch_samples = 0;
    s.epoch_loss = 0;
    auto t0 = Clock::now();
    for (int64_t b = first; b < n; ++b) {
      if (interrupt_requested()) s.interrupted(b, n, loss_sum, samples);
      runtime::NamedValues feeds;
      for (auto& f : s.batches->batch(b)) feeds.emplace_back(f.name, std::move(f.value));
      int64_t rows = feeds[0].second.tensor().dim(0);
      std::vector<Value> out;
      try {
        out = s.runner.run(feeds);  // the carried state changes only when a step completes
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::Interrupted) s.interrupted(b, n, loss_sum, samples);
        throw;
      }
      double loss = out[0].tensor().element_as_double(0);
      ++s.steps_done;
      if (!std::isfinite(loss)) {
        std::string last = s.o.checkpoint_dir.empty()
                               ? std::string("no checkpoints were asked for")
                               : "checkpoints written so far are intact in " + dir.string();
        fail(ErrorKind::InvalidArgument, "step ", s.steps_done, " (epoch ", epoch, ", batch ",
             b + 1, "): the loss is ", loss, "; training stopped (", last,
             "). A lower learning rate or gradient clipping may help.");
      }
      loss_sum += loss;
      samples += rows;
      if (csv.is_open()) csv << s.steps_done << "," << epoch << "," << loss << ",\n";
      if (progress) {
        double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        double rate = secs > 0 ? static_cast<double>(samples) / secs : 0;
        double left = static_cast<double>(n * s.o.batch_size - samples);
        progress({epoch, s.o.epochs, b + 1, n, loss_sum / static_cast<double>(b + 1), rate,
                  rate > 0 ? std::max(0.0, left) / rate : 0});
      }
    }
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    s.epochs_done = epoch;
    s.in_epoch = false;
    EpochResult r{epoch,
                  loss_sum / static_cast<double>(n),
                  {},
                  secs,
                  secs > 0 ? static_cast<double>(samples) / secs : 0};
    ir::Model current = s.current();
    try {
      if (s.val.size()) r.val = evaluate(current, s.val, eval);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Interrupted) throw;
      s.epochs_done = epoch - 1;  // trained, not yet evaluated: resumes at the evaluation
      s.interrupted(n, n, loss_sum, samples);
    }
    const MetricValue* monitored = r.metric(s.o.monitor);
    double watched = monitored ? monitored->value() : r.train_loss;
    r.best = s.improved(watched);
    if (r.best) {
      s.best = watched;
      s.bad_epochs = 0;
    } else if (s.o.early_stop > 0 && ++s.bad_epochs >= s.o.early_stop) {
      s.stopped = true;
    }
    s.record_monitor(current);
    if (csv.is_open()) {
      const MetricValue* acc = r.metric("accuracy");
      csv << s.steps_done << "," << epoch << ",,";
      if (acc) csv << acc->value();
      for (const auto& m : r.val) csv << "," << m.value();
      csv << "\n" << std::flush;
    }
    if (!s.o.checkpoint_dir.empty()) {
      bool last = epoch == s.o.epochs || s.stopped;
      if (epoch % std::max(1, s.o.checkpoint_every) == 0 || last)
        onnx_io::save_model(current, (dir / ("epoch-" + std::to_string(epoch) + ".onnx")).string());
      if (r.best) onnx_io::save_model(current, (dir / "best.onnx").string());
      onnx_io::save_model(current, (dir / "last.onnx").string());
    }
    results.push_back(r);
    if (epoch_done) epoch_done(r);
  }
  return results;
}

}  // namespace onyx::train
