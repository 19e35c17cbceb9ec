// Training runs on a small synthetic MNIST-layout dataset: accuracy, exact resumption,
// checkpoints, and the CLI around them.
#include "onyx/train/trainer.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "../cli_runner.h"
#include "onyx/core/file_util.h"
#include "onyx/core/interrupt.h"
#include "onyx/data/idx.h"
#include "onyx/nn/models.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"
#include "synthetic_mnist.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;

class Training : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("onyx_train_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "data");
    testing::write_split(dir_ / "data", "train", 256, 1);
    testing::write_split(dir_ / "data", "t10k", 64, 2);
    train_ = data::load_mnist((dir_ / "data").string(), "train");
    test_ = data::load_mnist((dir_ / "data").string(), "test");
  }
  void TearDown() override { fs::remove_all(dir_); }
  train::Options options(const std::string& ckpt) {
    train::Options o;
    o.epochs = 3;
    o.batch_size = 16;
    o.step.optimizer = "momentum";
    o.step.lr = 0.05;
    o.seed = 5;
    o.threads = 1;
    o.checkpoint_dir = ckpt.empty() ? "" : (dir_ / ckpt).string();
    return o;
  }
  fs::path dir_;
  data::Dataset train_, test_;
};

TEST_F(Training, LearnsAndReportsAccuracy) {
  ir::Model model = nn::mlp(1, 8, 4).to_onnx({1, 8, 8}, 3);
  train::Trainer t(model, train_, test_, options(""));
  std::vector<train::Progress> seen;
  auto results = t.run([&](const train::Progress& p) { seen.push_back(p); });
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(seen.size(), 3u * 16);  // 256 / 16 batches per epoch
  EXPECT_LT(results.back().train_loss, results.front().train_loss);
  const train::MetricValue* acc = results.back().metric("accuracy");
  ASSERT_NE(acc, nullptr);
  EXPECT_GE(acc->value(), 0.95) << acc->sum << "/" << acc->count;
  EXPECT_EQ(acc->count, 64);
  ASSERT_NE(results.back().metric("loss"), nullptr) << "the validation loss comes first";
  EXPECT_EQ(results.back().val[0].name, "loss");
  // The accuracy the trainer reports is the accuracy of the model it checkpoints.
  train::EvalOptions eval;
  std::vector<train::MetricValue> again = train::evaluate(t.checkpoint(), test_, eval);
  EXPECT_EQ(again[0].sum, acc->sum);
}

// A run stopped after one epoch and resumed from its checkpoint ends exactly where an
// unbroken run ends: the same file, byte for byte.
TEST_F(Training, ResumesBitForBit) {
  ir::Model model = nn::mlp(1, 8, 4).to_onnx({1, 8, 8}, 3);
  train::Trainer(model, train_, test_, options("unbroken")).run();
  train::Options first = options("broken");
  first.epochs = 1;
  train::Trainer(model, train_, test_, first).run();
  std::string resumed_from = (dir_ / "broken" / "last.onnx").string();
  train::Trainer resumed = train::Trainer::resume(resumed_from, train_, test_, options("broken"));
  EXPECT_EQ(resumed.epochs_done(), 1);
  resumed.run();
  std::string a = read_file((dir_ / "unbroken" / "last.onnx").string());
  std::string b = read_file((dir_ / "broken" / "last.onnx").string());
  EXPECT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "the resumed run's final checkpoint differs from the unbroken run's";
  EXPECT_TRUE(fs::exists(dir_ / "unbroken" / "epoch-2.onnx"));
  // And the run it resumed from really was at a different place.
  EXPECT_FALSE(read_file((dir_ / "broken" / "epoch-1.onnx").string()) == a);
}

// A checkpoint's metadata is read whole and range-checked: a bad entry is refused with an
// error naming the file and the entry, never a library's exception text.
TEST_F(Training, CheckpointMetadataIsChecked) {
  ir::Model model = nn::mlp(1, 8, 4).to_onnx({1, 8, 8}, 3);
  train::Options once = options("meta");
  once.epochs = 1;
  train::Trainer(model, train_, test_, once).run();
  ir::Model ckpt = onnx_io::load_model((dir_ / "meta" / "last.onnx").string());
  train::ResumePoint at = train::resume_point(ckpt);
  EXPECT_EQ(at.epochs_done, 1);
  EXPECT_EQ(at.batch_size, once.batch_size);
  EXPECT_GT(at.steps_done, 0);
  EXPECT_FALSE(std::isnan(at.best));

  struct Bad {
    std::string key, value;
  };
  for (const Bad& bad : std::vector<Bad>{{"onyx.epoch", "-1"},
                                         {"onyx.epoch", "3000000000"},
                                         {"onyx.epoch", "1x"},
                                         {"onyx.batch_size", "0"},
                                         {"onyx.batch_size", "99999999999999999999"},
                                         {"onyx.step", ""},
                                         {"onyx.bad_epochs", "2 "},
                                         {"onyx.best", "0.5junk"},
                                         {"onyx.batches", "not a generator"},
                                         {"onyx.epoch_batch", "17"},
                                         {"onyx.epoch_samples", "-1"},
                                         {"onyx.epoch_loss", "1.5e"}}) {
    ir::Model m = ckpt;
    for (auto& [k, v] : m.metadata_props) {
      if (k == bad.key) v = bad.value;
    }
    std::string path = (dir_ / "broken.onnx").string();
    onnx_io::save_model(m, path);
    try {
      train::Trainer::resume(path, train_, test_, options("meta"));
      ADD_FAILURE() << bad.key << "='" << bad.value << "' was accepted";
    } catch (const Error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("broken.onnx"), std::string::npos) << what;
      if (bad.key != "onyx.batches") {
        EXPECT_NE(what.find(bad.key), std::string::npos) << what;
      }
    }
  }
}

// An interrupt (Ctrl-C in the CLI and Python) stops the run between steps, or during an
// epoch's evaluation, with last.onnx written where it stopped; resuming from it ends on the
// bytes of an unbroken run.
TEST_F(Training, InterruptsStopBetweenStepsAndResumeExactly) {
  ir::Model model = nn::mlp(1, 8, 4).to_onnx({1, 8, 8}, 3);
  train::Trainer(model, train_, test_, options("unbroken")).run();
  std::string expected = read_file((dir_ / "unbroken" / "last.onnx").string());
  struct Case {
    int64_t at_step;
    std::string says;
    int64_t epoch_batch;
  };
  // 16 batches an epoch: step 5 is in epoch 1; after step 32 comes epoch 2's evaluation.
  for (const Case& c : std::vector<Case>{{5, "after step 5 (epoch 1, batch 5 of 16)", 5},
                                         {32, "after step 32 (epoch 2, batch 16 of 16)", 16}}) {
    std::string ckpt = "stopped" + std::to_string(c.at_step);
    train::Trainer t(model, train_, test_, options(ckpt));
    int64_t steps = 0;
    try {
      t.run([&](const train::Progress&) {
        if (++steps == c.at_step) request_interrupt();
      });
      ADD_FAILURE() << "the run went on to its end";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Interrupted);
      EXPECT_NE(std::string(e.what()).find("interrupted " + c.says), std::string::npos) << e.what();
    }
    clear_interrupt();
    EXPECT_EQ(steps, c.at_step) << "no step runs after the interrupt";
    std::string last = (dir_ / ckpt / "last.onnx").string();
    train::ResumePoint at = train::resume_point(onnx_io::load_model(last));
    EXPECT_EQ(at.steps_done, c.at_step);
    EXPECT_EQ(at.epoch_batch, c.epoch_batch);
    EXPECT_EQ(at.epochs_done, (c.at_step - 1) / 16);
    train::Trainer::resume(last, train_, test_, options(ckpt)).run();
    EXPECT_TRUE(read_file(last) == expected) << "resumed after step " << c.at_step;
    // The interrupted trainer itself also goes on where it stopped.
    t.run();
    EXPECT_TRUE(read_file(last) == expected) << "run again after step " << c.at_step;
  }
}

using Result = testing::CliResult;
using testing::onyx_cli;
using testing::onyx_cli_raw;

TEST_F(Training, CommandLine) {
  std::string data = " --data-dir " + (dir_ / "data").string();
  std::string out = (dir_ / "model.onnx").string();
  Result r = onyx_cli(
      "train --model mlp --epochs 2 --batch-size 16 --optimizer momentum --lr 0.05 "
      "--threads 1 --quiet --loss-csv " +
      (dir_ / "loss.csv").string() + " -o " + out + data);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("epoch 2/2: loss"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(", val accuracy "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/64), "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(", val loss "), std::string::npos) << r.out;
  std::string csv = read_file((dir_ / "loss.csv").string());
  EXPECT_EQ(csv.rfind("step,epoch,loss,test_accuracy,val_loss,val_accuracy\n", 0), 0u) << csv;
  Result e = onyx_cli("eval " + out + data);
  ASSERT_EQ(e.status, 0) << e.out;
  EXPECT_NE(e.out.find("accuracy "), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("/64)"), std::string::npos) << e.out;

  // inspect, draw and plot on what the run wrote.
  r = onyx_cli("inspect " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("parameters: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MACs: "), std::string::npos) << r.out;
  r = onyx_cli("draw " + out + " -o " + (dir_ / "model.svg").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(read_file((dir_ / "model.svg").string()).find("<svg"), std::string::npos);
  r = onyx_cli("plot " + (dir_ / "loss.csv").string() + " -o " + (dir_ / "loss.svg").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(read_file((dir_ / "loss.svg").string()).find("<polyline"), std::string::npos);
  r = onyx_cli("draw " + out + " -o " + (dir_ / "model.png").string());
  EXPECT_EQ(r.status, 2) << r.out;

  // On a terminal (a pseudo-terminal from util-linux's script), a bar redrawn in place.
  std::string tty = "script -qec '" + std::string(ONYX_CLI) +
                    " train --model mlp --epochs 1 --batch-size 16 --threads 1" + data +
                    "' /dev/null";
  r = onyx_cli_raw(tty);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\repoch 1/1 ["), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ETA"), std::string::npos) << r.out;

  r = onyx_cli("train --epochs 1 --data-dir " + (dir_ / "nowhere").string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("nowhere"), std::string::npos) << r.out;
  r = onyx_cli("eval " + (dir_ / "model.onnx").string() + " --data-dir " +
               (dir_ / "nowhere").string());
  EXPECT_EQ(r.status, 2) << r.out;
}

// A PNG of grey pixels `px` [h, w], stored with `channels` (1 grey, 3 RGB) and every row
// filtered with `filter` (1 Sub, 2 Up), as encoders do.
std::string png(const std::vector<uint8_t>& px, uint32_t w, uint32_t h, int channels, int filter) {
  auto be = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    std::string td = type + data;
    uLong crc = crc32(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(td.data()), td.size());
    return be(static_cast<uint32_t>(data.size())) + td + be(static_cast<uint32_t>(crc));
  };
  std::string raw;
  size_t stride = w * channels;
  std::vector<uint8_t> prev(stride, 0), row(stride);
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      for (int c = 0; c < channels; ++c) row[x * channels + c] = px[y * w + x];
    }
    raw += static_cast<char>(filter);
    for (size_t i = 0; i < stride; ++i) {
      int ref = filter == 1 ? (i >= size_t(channels) ? row[i - channels] : 0) : prev[i];
      raw += static_cast<char>(static_cast<uint8_t>(row[i] - ref));
    }
    prev = row;
  }
  uLongf size = compressBound(raw.size());
  std::string z(size, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
           raw.size());
  z.resize(size);
  std::string ihdr =
      be(w) + be(h) + std::string{8, static_cast<char>(channels == 1 ? 0 : 2), 0, 0, 0};
  return "\x89PNG\r\n\x1a\n" + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", "");
}

// A trained checkpoint exported, then run by onyx and by onnxruntime: the same scores;
// predict on an IDX image and on PGM files.
TEST_F(Training, ExportPredictAndOnnxruntime) {
  std::string data = " --data-dir " + (dir_ / "data").string();
  std::string ckpt = (dir_ / "ckpt").string(), model = (dir_ / "exported.onnx").string();
  Result r = onyx_cli(
      "train --model cnn --epochs 1 --batch-size 16 --threads 1 --quiet "
      "--checkpoint-dir " +
      ckpt + data);
  ASSERT_EQ(r.status, 0) << r.out;
  r = onyx_cli("export " + ckpt + "/last.onnx -o " + model);
  ASSERT_EQ(r.status, 0) << r.out;
  ir::Model exported = onnx_io::load_model(model);
  EXPECT_TRUE(exported.training_info.empty()) << "no training info left";
  for (const auto& [k, v] : exported.metadata_props) EXPECT_FALSE(k.starts_with("onyx.")) << k;

  Tensor x = test_.at("images");
  onnx_io::save_npy(x, (dir_ / "x.npy").string());
  runtime::Session session(exported);
  Tensor ours = session.run({{"input", x}})[0].tensor();
  std::string cmd = "node " + std::string(ONYX_SOURCE_DIR) + "/bench/ort_run.js " + model + " " +
                    dir_.string() + " input=" + (dir_ / "x.npy").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Tensor theirs = onnx_io::load_npy((dir_ / "0.npy").string());
  ASSERT_EQ(theirs.shape(), ours.shape());
  for (int64_t i = 0; i < ours.numel(); ++i) {
    EXPECT_NEAR(ours.data<float>()[i], theirs.data<float>()[i], 1e-4) << i;
  }

  // predict: image 3 of the test IDX file, and the same pixels as binary and text PGM.
  std::string idx = (dir_ / "data" / "t10k-images-idx3-ubyte").string();
  r = onyx_cli("predict -m " + model + " -i " + idx + ":3 --top 2 --classes a,b,c,d");
  ASSERT_EQ(r.status, 0) << r.out;
  int64_t label = test_.at("labels").data<int64_t>()[3];
  std::string want =
      std::to_string(label) + " " + std::string(1, static_cast<char>('a' + label)) + ": ";
  EXPECT_EQ(r.out.rfind(want, 0), 0u) << "the trained model gets image 3 right:\n" << r.out;
  std::string p5 = "P5\n# an image\n8 8\n255\n", p2 = "P2\n8 8 255\n";
  for (int64_t i = 0; i < 64; ++i) {
    auto v = static_cast<uint8_t>(std::lround(test_.at("images").data<float>()[3 * 64 + i] * 255));
    p5 += static_cast<char>(v);
    p2 += std::to_string(v) + " ";
  }
  write_file_atomic((dir_ / "img5.pgm").string(), p5);
  write_file_atomic((dir_ / "img2.pgm").string(), p2);
  // The same pixels as PNGs: grey with Sub-filtered rows, and RGB with Up-filtered rows.
  std::vector<uint8_t> px(64);
  for (int64_t i = 0; i < 64; ++i) {
    px[i] = static_cast<uint8_t>(std::lround(test_.at("images").data<float>()[3 * 64 + i] * 255));
  }
  write_file_atomic((dir_ / "img_grey.png").string(), png(px, 8, 8, 1, 1));
  write_file_atomic((dir_ / "img_rgb.png").string(), png(px, 8, 8, 3, 2));
  for (const char* f : {"img5.pgm", "img2.pgm", "img_grey.png", "img_rgb.png"}) {
    Result pr = onyx_cli("predict -m " + model + " -i " + (dir_ / f).string() +
                         " --top 2 --classes a,b,c,d");
    EXPECT_EQ(pr.out, r.out) << f;
  }
  std::string broken = png(px, 8, 8, 1, 1);
  broken[broken.size() - 20] ^= 0x5a;  // inside IDAT
  write_file_atomic((dir_ / "broken.png").string(), broken);
  r = onyx_cli("predict -m " + model + " -i " + (dir_ / "broken.png").string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("corrupt PNG"), std::string::npos) << r.out;
  r = onyx_cli("predict -m " + model + " -i " + idx + ":64");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("image 64 requested, the file holds 64"), std::string::npos) << r.out;
  r = onyx_cli("predict -m " + model + " -i " + model);
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("not a PNG, JPEG, PNM, WebP or JPEG 2000 image"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace onyx
