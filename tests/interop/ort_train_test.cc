// Interop: training steps onyx writes (`onyx make-training`) run in onnxruntime (npm
// onnxruntime-node) for several steps from the same start, and give onyx's losses,
// parameters and optimizer state.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "../autodiff/training_refs.h"
#include "onyx/autodiff/training.h"
#include "onyx/runtime/session.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;
using testing::expect_close;
using testing::TrainingRefs;

struct OrtCase {
  std::string model, optimizer;
  int64_t opset = 17;  // the step is built at this opset (the model converted up to it)
};
void PrintTo(const OrtCase& c, std::ostream* os) {
  *os << c.model << " with " << c.optimizer << " at opset " << c.opset;
}

class OrtTrain : public ::testing::TestWithParam<OrtCase> {};

TEST_P(OrtTrain, SameStepsAsOnyx) {
  const OrtCase& c = GetParam();
  constexpr int64_t kSteps = 5;
  TrainingRefs refs(c.model);
  autodiff::TrainingOptions options;
  options.optimizer = c.optimizer;
  options.lr = 0.05;
  options.weight_decay = 0.01;
  options.opset = c.opset;
  autodiff::TrainingStep step = autodiff::build_training_step(refs.model(), options);
  fs::path dir = fs::temp_directory_path() / ("onyx_ort_train_" + std::to_string(::getpid()) +
                                              c.model + c.optimizer + std::to_string(c.opset));
  fs::create_directories(dir);
  // onnxruntime-node cannot feed inputs that have initializers: give it the same graph
  // with the initial state as files instead.
  ir::Model plain = step.model;
  plain.graph = std::make_shared<ir::Graph>(*step.model.graph);
  std::string init_feeds;
  for (const auto& b : step.bindings) {
    auto& inits = plain.graph->initializers;
    auto it = std::find_if(inits.begin(), inits.end(),
                           [&](const ir::Initializer& i) { return i.name == b.input; });
    ASSERT_NE(it, inits.end()) << b.input;
    std::string file = (dir / ("init" + std::to_string(init_feeds.size()) + ".npy")).string();
    onnx_io::save_npy(it->value, file);
    init_feeds += " 'init:" + b.input + "=" + file + "'";
    inits.erase(it);
  }
  std::string step_path = (dir / "step.onnx").string();
  onnx_io::save_model(plain, step_path);
  Tensor xs = refs.get("x"), labels = refs.get("labels");
  onnx_io::save_npy(xs, (dir / "x.npy").string());
  onnx_io::save_npy(labels, (dir / "labels.npy").string());

  runtime::Session session(step.model);
  session.bind(autodiff::binding_pairs(step));
  std::vector<Value> last;
  std::vector<double> losses;
  for (int64_t s = 0; s < kSteps; ++s) {
    last = session.run({{"x", TrainingRefs::row(xs, s)}, {"labels", TrainingRefs::row(labels, s)}});
    losses.push_back(last[0].tensor().element_as_double(0));
  }

  std::string cmd = "node " + std::string(ONYX_SOURCE_DIR) + "/bench/ort_train.js " + step_path +
                    " " + dir.string() + " " + std::to_string(kSteps) +
                    " x=" + (dir / "x.npy").string() + " labels=" + (dir / "labels.npy").string() +
                    init_feeds + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Tensor theirs = onnx_io::load_npy((dir / "losses.npy").string());
  ASSERT_EQ(theirs.numel(), kSteps);
  for (int64_t s = 0; s < kSteps; ++s) {
    EXPECT_NEAR(losses[s], theirs.element_as_double(s), 1e-4 * std::abs(losses[s])) << "step " << s;
  }
  // Every output of the last step: new parameters, running statistics, optimizer state.
  const auto& outputs = step.model.graph->outputs;
  for (size_t i = 1; i < outputs.size(); ++i) {
    Tensor t = onnx_io::load_npy((dir / (std::to_string(i) + ".npy")).string());
    expect_close(last[i].tensor(), t, 1e-4, outputs[i].name);
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Models, OrtTrain,
    ::testing::Values(
        OrtCase{"mlp", "nesterov"}, OrtCase{"mlp", "adagrad"}, OrtCase{"cnn_bn", "sgd"},
        OrtCase{"resblock", "adam"}, OrtCase{"resblock", "adamw"}, OrtCase{"lstm", "sgd"},
        OrtCase{"loop", "momentum"}, OrtCase{"list", "adamw"}, OrtCase{"while", "adam"},
        // Steps written past libonnx's opset 17.
        OrtCase{"cnn_bn", "adam", 21}, OrtCase{"resblock", "sgd", 21}, OrtCase{"mlp", "adamw", 23}),
    [](const auto& info) {
      return info.param.model + "_" + info.param.optimizer +
             (info.param.opset == 17 ? "" : "_opset" + std::to_string(info.param.opset));
    });

}  // namespace
}  // namespace onyx
