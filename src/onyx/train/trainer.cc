#include "onyx/train/trainer.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "onyx/autodiff/embedded_training.h"
#include "onyx/data/batches.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/training_info.h"
#include "onyx/runtime/session.h"

namespace onyx::train {

namespace {

using Clock = std::chrono::steady_clock;

std::string metadata(const ir::Model& m, const std::string& key) {
  for (const auto& [k, v] : m.metadata_props) {
    if (k == key) return v;
  }
  fail(ErrorKind::InvalidArgument, m.path, ": not an onyx checkpoint (no metadata '", key, "')");
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

// Top-1 class of each row of logits [n, classes].
int64_t argmax_row(const float* row, int64_t classes) {
  int64_t best = 0;
  for (int64_t k = 1; k < classes; ++k) best = row[k] > row[best] ? k : best;
  return best;
}

}  // namespace

std::pair<int64_t, int64_t> evaluate(const ir::Model& model, const data::Dataset& data, int threads,
                                     int64_t batch_size) {
  runtime::SessionOptions so;
  so.threads = threads;
  runtime::Session session(model, so);
  data::Batches batches(data, batch_size, 0, /*shuffle=*/false);
  batches.begin_epoch();
  const std::string& input = model.graph->inputs[0].name;
  int64_t correct = 0;
  for (int64_t b = 0; b < batches.batches_per_epoch(); ++b) {
    auto [x, labels] = batches.batch(b);
    Tensor y = session.run({{input, x}})[0].tensor();
    if (y.dtype() != DType::Float32 || y.rank() != 2 || y.dim(0) != x.dim(0)) {
      fail(ErrorKind::InvalidArgument, model.path.empty() ? "model" : model.path,
           ": expected float scores [batch, classes], got ", dtype_name(y.dtype()),
           shape_str(y.shape()));
    }
    for (int64_t i = 0; i < y.dim(0); ++i) {
      correct += argmax_row(y.data<float>() + i * y.dim(1), y.dim(1)) == labels.data<int64_t>()[i];
    }
  }
  return {correct, data.size()};
}

ir::Model inference_model(const ir::Model& checkpoint) {
  ir::Model m = checkpoint;
  onnx_io::set_training_infos(m, {});  // the inference graph already holds the weights
  std::erase_if(m.metadata_props, [](const auto& kv) { return kv.first.starts_with("onyx."); });
  return m;
}

struct Trainer::State {
  State(ir::Model c, const data::Dataset& tr, const data::Dataset& te, Options opt)
      : ckpt(std::move(c)),
        train(tr),
        test(te),
        o(std::move(opt)),
        batches(train, o.batch_size, o.seed) {}

  ir::Model ckpt;  // model, training step and state
  autodiff::TrainingStep step;
  std::unique_ptr<runtime::Session> session;
  const data::Dataset& train;
  const data::Dataset& test;
  Options o;
  data::Batches batches;
  int epochs_done = 0;
  int64_t steps_done = 0;
  std::string input, labels;

  void start() {
    step = autodiff::training_step_of(ckpt);
    runtime::SessionOptions so;
    so.threads = o.threads;
    session = std::make_unique<runtime::Session>(step.model, so);
    session->bind(autodiff::binding_pairs(step));
    // The fed inputs: the batch, then the labels (the others hold state).
    std::vector<std::string> fed;
    for (const auto& in : step.model.graph->inputs) {
      if (!step.model.graph->find_initializer(in.name)) fed.push_back(in.name);
    }
    if (fed.size() != 2) {
      fail(ErrorKind::InvalidArgument, ckpt.path.empty() ? "model" : ckpt.path,
           ": a training step needs exactly a batch input and a labels input, not ", fed.size(),
           " inputs");
    }
    input = fed[0];
    labels = fed[1];
  }

  ir::Model current() const {
    ir::Model m = ckpt;
    m.graph = std::make_shared<ir::Graph>(*ckpt.graph);
    std::vector<std::pair<std::string, Tensor>> values;
    for (const auto& b : step.bindings)
      values.emplace_back(b.input, session->bound_value(b.input).tensor());
    autodiff::store_state(m, values);
    set_metadata(m, "onyx.epoch", std::to_string(epochs_done));
    set_metadata(m, "onyx.step", std::to_string(steps_done));
    set_metadata(m, "onyx.batch_size", std::to_string(o.batch_size));
    set_metadata(m, "onyx.batches", batches.state());
    return m;
  }
};

Trainer::Trainer(std::unique_ptr<State> s) : s_(std::move(s)) {
  s_->start();
}

Trainer::Trainer(const ir::Model& model, const data::Dataset& train, const data::Dataset& test,
                 Options options)
    : Trainer(std::make_unique<State>(autodiff::embed_training_step(model, options.step), train,
                                      test, options)) {}

Trainer Trainer::resume(const std::string& checkpoint, const data::Dataset& train,
                        const data::Dataset& test, Options options) {
  ir::Model ckpt = onnx_io::load_model(checkpoint);
  // The checkpoint fixes what an exact continuation needs.
  options.batch_size = std::stoll(metadata(ckpt, "onyx.batch_size"));
  auto s = std::make_unique<State>(ckpt, train, test, options);
  s->epochs_done = std::stoi(metadata(ckpt, "onyx.epoch"));
  s->steps_done = std::stoll(metadata(ckpt, "onyx.step"));
  s->batches.set_state(metadata(ckpt, "onyx.batches"));
  return Trainer(std::move(s));
}

Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;

int Trainer::epochs_done() const {
  return s_->epochs_done;
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
    if (fresh) csv << "step,epoch,loss,test_accuracy\n";
  }
  if (!s.o.checkpoint_dir.empty()) std::filesystem::create_directories(s.o.checkpoint_dir);
  std::vector<EpochResult> results;
  while (s.epochs_done < s.o.epochs) {
    int epoch = s.epochs_done + 1;
    s.batches.begin_epoch();
    int64_t n = s.batches.batches_per_epoch(), samples = 0;
    double loss_sum = 0;
    auto t0 = Clock::now();
    for (int64_t b = 0; b < n; ++b) {
      auto [x, y] = s.batches.batch(b);
      std::vector<Value> out = s.session->run({{s.input, x}, {s.labels, y}});
      double loss = out[0].tensor().element_as_double(0);
      loss_sum += loss;
      samples += x.dim(0);
      ++s.steps_done;
      if (csv.is_open()) csv << s.steps_done << "," << epoch << "," << loss << ",\n";
      if (progress) {
        double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        double rate = secs > 0 ? static_cast<double>(samples) / secs : 0;
        double left = static_cast<double>(s.train.size() - samples);
        progress({epoch, s.o.epochs, b + 1, n, loss_sum / static_cast<double>(b + 1), rate,
                  rate > 0 ? left / rate : 0});
      }
    }
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    s.epochs_done = epoch;
    ir::Model current = s.current();
    auto [correct, total] = evaluate(current, s.test, s.o.threads);
    EpochResult r{epoch,   loss_sum / static_cast<double>(n),
                  correct, total,
                  secs,    secs > 0 ? static_cast<double>(samples) / secs : 0};
    if (csv.is_open())
      csv << s.steps_done << "," << epoch << ",," << r.accuracy() << "\n" << std::flush;
    if (!s.o.checkpoint_dir.empty() &&
        (epoch % std::max(1, s.o.checkpoint_every) == 0 || epoch == s.o.epochs)) {
      std::filesystem::path dir(s.o.checkpoint_dir);
      onnx_io::save_model(current, (dir / ("epoch-" + std::to_string(epoch) + ".onnx")).string());
      onnx_io::save_model(current, (dir / "last.onnx").string());
    }
    results.push_back(r);
    if (epoch_done) epoch_done(r);
  }
  return results;
}

}  // namespace onyx::train
