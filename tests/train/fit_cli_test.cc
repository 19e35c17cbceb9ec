// Training any model on the user's data, end to end: a ResNet-18 fine-tuned on an image
// folder with its backbone frozen, a regression from CSV and a two-input model from npz
// through `onyx train`, eval and predict, a flat MLP on IDX images, early stopping,
// best.onnx, and a run stopped by a non-finite loss.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "../cli_runner.h"
#include "../temp_dir.h"
#include "onyx/core/file_util.h"
#include "onyx/nn/layers.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/train/datasets.h"
#include "onyx/train/trainer.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;
using testing::onyx_cli;

const std::string kFit = std::string(ONYX_MODELS_DIR) + "/fit";

class FitEndToEnd : public testing::TempDirTest {
 protected:
};

// The last "val <name> <value>" of a training log.
double last_val(const std::string& out, const std::string& name) {
  size_t at = out.rfind("val " + name + " ");
  if (at == std::string::npos) return NAN;
  return std::stod(out.substr(at + name.size() + 5));
}

// ImageFolder-style fine-tuning: only fc trains, with BatchNormalization on its running
// statistics (model.eval(), as a frozen backbone is usually run); every other value of
// the model keeps its bytes.
TEST_F(FitEndToEnd, ResNet18FineTunesOnAnImageFolderWithTheBackboneFrozen) {
  ir::Model model = onnx_io::load_model(kFit + "/resnet18.onnx");
  train::DataOptions d;
  d.path = kFit + "/images/train";
  d.val_path = kFit + "/images/val";
  d.mean = {0.5f};
  d.std = {0.25f};
  train::TrainingData data = train::load_training_data(d, model);
  ASSERT_EQ(data.train.size(), 60);
  ASSERT_EQ(data.val.size(), 30);
  EXPECT_EQ(data.train.at("input").shape(), (Shape{60, 3, 64, 64}))
      << "named and sized for the model";
  train::Options o;
  o.epochs = 4;
  o.batch_size = 12;
  o.threads = 2;
  o.step.optimizer = "adam";
  o.step.lr = 0.01;
  o.step.train_only = {"fc.*"};
  o.step.train_mode = false;
  o.metrics = {"accuracy", "top2"};
  o.checkpoint_dir = path("ckpt");
  train::Trainer trainer(model, data.train, data.val, o);
  std::vector<train::EpochResult> results = trainer.run();
  ASSERT_EQ(results.size(), 4u);
  double accuracy = results.back().metric("accuracy")->value();
  EXPECT_GE(accuracy, 0.8) << "chance is 1/3";
  EXPECT_GE(results.back().metric("top2")->value(), accuracy);
  ir::Model trained = onnx_io::load_model(path("ckpt") + "/last.onnx");
  size_t frozen = 0, changed = 0;
  for (const auto& init : model.graph->initializers) {
    if (!is_floating(init.value.dtype())) continue;
    const ir::Initializer* now = trained.graph->find_initializer(init.name);
    ASSERT_NE(now, nullptr) << init.name;
    bool same = now->value.nbytes() == init.value.nbytes() &&
                std::memcmp(now->value.raw_data(), init.value.raw_data(), init.value.nbytes()) == 0;
    if (init.name.starts_with("fc.")) {
      EXPECT_FALSE(same) << init.name << " should have trained";
      changed += !same;
    } else {
      EXPECT_TRUE(same) << init.name << " is frozen, yet changed";
      frozen += same;
    }
  }
  EXPECT_EQ(changed, 2u);
  EXPECT_GE(frozen, 40u) << "ResNet-18's convolution and BatchNorm parameters";
  EXPECT_TRUE(fs::exists(path("ckpt") + "/best.onnx"));
}

// onyx train on a CSV file with a schedule, clipping, accumulation and a validation split;
// eval and predict on the same file.
TEST_F(FitEndToEnd, RegressionFromCsvThroughTheCommandLine) {
  std::string out = path("reg.onnx");
  testing::CliResult r = onyx_cli(
      "train --model " + kFit + "/reg_sgd.onnx --data " + kFit +
      "/diabetes.csv --target target --loss mse --metric mse,mae --optimizer adam --lr 0.01 "
      "--lr-schedule linear:start_factor=0.5,total_iters=20 --lr-schedule cosine:T_max=200 "
      "--clip-grad-norm 5 --accumulate 2 --val-split 0.2 --epochs 8 --batch-size 16 "
      "--threads 1 --quiet --checkpoint-dir " +
      path("ckpt") + " -o " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("epoch 8/8: loss "), std::string::npos) << r.out;
  double mse = last_val(r.out, "mse");
  EXPECT_LT(mse, 0.7) << "the targets are standardised: predicting the mean gives 1\n" << r.out;
  EXPECT_NEAR(last_val(r.out, "loss"), mse, 1e-4 * mse) << "the mse loss is the mse metric";
  EXPECT_TRUE(fs::exists(path("ckpt") + "/best.onnx"));

  r = onyx_cli("eval " + out + " --data " + kFit +
               "/diabetes.csv --target target --metric mse,mae,loss --loss mse");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.rfind("mse ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nmae "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nloss "), std::string::npos) << r.out;

  r = onyx_cli("predict -m " + out + " --data " + kFit + "/diabetes.csv --target target -o " +
               path("pred.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(onnx_io::load_npy(path("pred.npy")).shape(), (Shape{442, 1}));
  r = onyx_cli("predict -m " + out + " --data " + kFit + "/diabetes.csv --target target -o " +
               path("pred.csv"));
  ASSERT_EQ(r.status, 0) << r.out;
  std::string csv = read_file(path("pred.csv"));
  EXPECT_EQ(csv.rfind("index,prediction\n0,", 0), 0u) << csv.substr(0, 80);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 443);

  // Wrong names and bad cells say where.
  r = onyx_cli("train --model " + kFit + "/reg_sgd.onnx --data " + kFit +
               "/diabetes.csv --target nope --loss mse --epochs 1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("nope"), std::string::npos) << r.out;
  write_file_atomic(path("bad.csv"), "a,b,label\n1,2,3\n4,x,6\n");
  r = onyx_cli("train --model " + kFit + "/reg_sgd.onnx --data " + path("bad.csv") +
               " --loss mse --epochs 1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("bad.csv:3: column 'b'"), std::string::npos) << r.out;
  r = onyx_cli("train --model " + kFit + "/reg_sgd.onnx --data " + kFit +
               "/diabetes.csv --target target --loss mse --epochs 1 --freeze 'nothing.*'");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("pattern 'nothing.*' (freeze) matches no parameter"), std::string::npos)
      << r.out;
}

// A two-input model from an npz file whose arrays are named like its inputs.
TEST_F(FitEndToEnd, TwoInputsFromNpz) {
  testing::CliResult r = onyx_cli("train --model " + kFit + "/two_inputs.onnx --data " + kFit +
                                  "/two_inputs.npz --val-split 0.25 --epochs 6 --batch-size 16 "
                                  "--optimizer momentum --lr 0.1 --threads 1 --quiet -o " +
                                  path("two.onnx"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_GE(last_val(r.out, "accuracy"), 0.8) << r.out;
  // Data without one of the inputs names what is missing.
  fs::create_directories(dir_ / "arrays");
  onnx_io::save_npy(Tensor::zeros(DType::Float32, {8, 4}), path("arrays/a.npy"));
  onnx_io::save_npy(Tensor::zeros(DType::Int64, {8}), path("arrays/labels.npy"));
  r = onyx_cli("train --model " + kFit + "/two_inputs.onnx --data " + path("arrays") +
               " --epochs 1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("no feed for"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("input 'b' float[batch,3]"), std::string::npos) << r.out;
}

// IDX images [N, 1, 8, 8] feed a model whose input is flat [N, 64]; early stopping keeps
// the best checkpoint; a learning rate that blows up stops with the step named.
TEST_F(FitEndToEnd, FlatMlpOnIdxImagesEarlyStoppingAndNonFiniteLoss) {
  // 8x8 images: class k lights corner k.
  fs::create_directories(dir_ / "idx");
  auto header = [](uint8_t type, std::vector<uint32_t> dims) {
    std::string h{0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
    for (uint32_t d : dims) {
      for (int s = 24; s >= 0; s -= 8) h += static_cast<char>((d >> s) & 0xff);
    }
    return h;
  };
  for (const auto& [split, n] : {std::pair<std::string, uint32_t>{"train", 128}, {"t10k", 32}}) {
    std::string images = header(0x08, {n, 8, 8}), labels = header(0x08, {n});
    for (uint32_t i = 0; i < n; ++i) {
      int k = static_cast<int>((i * 7 + n) % 4);
      labels += static_cast<char>(k);
      for (int p = 0; p < 64; ++p) {
        int row = p / 8, col = p % 8;
        bool lit = (k / 2 ? row >= 5 : row < 3) && (k % 2 ? col >= 5 : col < 3);
        images += static_cast<char>(lit ? 220 : (p * 13 + i) % 60);
      }
    }
    write_file_atomic((dir_ / "idx" / (split + "-images-idx3-ubyte")).string(), images);
    write_file_atomic((dir_ / "idx" / (split + "-labels-idx1-ubyte")).string(), labels);
  }
  nn::Sequential mlp{nn::Linear(64, 16), nn::ReLU(), nn::Linear(16, 4)};
  mlp.save(path("flat.onnx"), {64}, 1);
  ir::Model flat = onnx_io::load_model(path("flat.onnx"));
  ASSERT_EQ(flat.graph->inputs[0].type.str(), "float[N,64]");
  testing::CliResult r = onyx_cli("train --model " + path("flat.onnx") + " --data " + path("idx") +
                                  " --epochs 30 --early-stop 2 --monitor accuracy --lr 0.01 "
                                  "--batch-size 16 --threads 1 --quiet --checkpoint-dir " +
                                  path("ckpt"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("stopped early after epoch "), std::string::npos)
      << "a perfect accuracy cannot improve for long:\n"
      << r.out;
  EXPECT_EQ(last_val(r.out, "accuracy"), 1.0) << r.out;
  r = onyx_cli("eval " + path("ckpt") + "/best.onnx --data " + path("idx"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "accuracy 1.0000 (32/32)\n");

  std::string before = read_file(path("ckpt") + "/last.onnx");
  r = onyx_cli("train --resume " + path("ckpt") + "/last.onnx --data " + path("idx") +
               " --epochs 40 --threads 1 --quiet");
  EXPECT_EQ(r.status, 0) << r.out;
  r = onyx_cli("train --model " + path("flat.onnx") + " --data " + path("idx") +
               " --optimizer sgd --lr 1e30 --epochs 2 --batch-size 16 --threads 1 --quiet "
               "--checkpoint-dir " +
               path("ckpt2"));
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("(epoch 1, batch "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the loss is "), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("ckpt2") + "/last.onnx")) << "nothing half-trained is saved";
}

}  // namespace
}  // namespace onyx
