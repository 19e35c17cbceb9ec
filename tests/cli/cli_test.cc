// The CLI as a user runs it: exit codes, messages, files written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "../autodiff/training_refs.h"
#include "../cli_runner.h"
#include "../temp_dir.h"
#include "onyx/core/file_util.h"
#include "onyx/ir/builder.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;

using Result = testing::CliResult;
using testing::onyx_cli;

const std::string kNode = "/usr/share/libonnx-testdata/data/node/";

class Cli : public testing::TempDirTest {
 protected:
};

TEST_F(Cli, RunPrintsOutputsAndWritesThemWithSafeNames) {
  // A model whose output name needs sanitising.
  ir::Model m = onnx_io::load_model(kNode + "test_abs/model.onnx");
  m.graph->outputs[0].name = "y/out:0";
  m.graph->nodes[0].outputs[0] = "y/out:0";
  onnx_io::save_model(m, (dir_ / "m.onnx").string());
  Result r =
      onyx_cli("run " + (dir_ / "m.onnx").string() + " --input x=" + kNode +
               "test_abs/test_data_set_0/input_0.pb --output-dir " + (dir_ / "out").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("y/out:0: float [3,4,5]"), std::string::npos) << r.out;
  Value y = onnx_io::load_value_file((dir_ / "out" / "y_out_0.pb").string());
  Value want = onnx_io::load_value_file(kNode + "test_abs/test_data_set_0/output_0.pb");
  EXPECT_EQ(y.tensor().to_vector<float>(), want.tensor().to_vector<float>());
}

// The node lines of a --profile-nodes listing: (total ms, "node 'NAME' (OP)").
static std::vector<std::pair<double, std::string>> profiled_nodes(const std::string& out) {
  std::vector<std::pair<double, std::string>> nodes;
  size_t at = out.find("slowest nodes");
  if (at == std::string::npos) return nodes;
  std::istringstream lines(out.substr(at));
  std::string line;
  std::getline(lines, line);  // the heading
  while (std::getline(lines, line)) {
    size_t name = line.find("node '");
    if (name == std::string::npos) break;
    nodes.emplace_back(std::stod(line), line.substr(name));
  }
  return nodes;
}

// --profile-nodes lists the slowest nodes of the model by name, slowest first, no more than
// asked. Which node is slowest depends on the machine's load, so only the order is checked.
TEST_F(Cli, RunProfilesNodes) {
  std::string models(ONYX_MODELS_DIR);
  std::string run = "run " + models + "/cnn_op17.onnx -i input=" + models +
                    "/cnn_op17_input.npy --repeat 3 --profile-nodes ";
  Result r = onyx_cli(run + "2");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("profile over 3 run(s)"), std::string::npos) << r.out;
  auto two = profiled_nodes(r.out);
  ASSERT_EQ(two.size(), 2u) << r.out;
  EXPECT_GE(two[0].first, two[1].first) << r.out;

  // Asked for more than there are, every planned node is listed once: both convolutions
  // (the runtime's blocked Conv) among them.
  r = onyx_cli(run + "100");
  ASSERT_EQ(r.status, 0) << r.out;
  auto all = profiled_nodes(r.out);
  ASSERT_GT(all.size(), 2u) << r.out;
  std::set<std::string> names;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(names.insert(all[i].second).second) << "listed twice: " << all[i].second;
    if (i > 0) {
      EXPECT_GE(all[i - 1].first, all[i].first) << r.out;
    }
  }
  EXPECT_EQ(names.count("node '/features/features.0/Conv' (ai.onyx.runtime.Conv)"), 1u) << r.out;
  EXPECT_EQ(names.count("node '/features/features.3/Conv' (ai.onyx.runtime.Conv)"), 1u) << r.out;
}

TEST_F(Cli, BadInputsExitTwoWithWhere) {
  Result r = onyx_cli("run " + (dir_ / "missing.onnx").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("missing.onnx"), std::string::npos) << r.out;

  write_file_atomic((dir_ / "garbage.onnx").string(), "not a model at all");
  r = onyx_cli("run " + (dir_ / "garbage.onnx").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("not a valid ONNX model"), std::string::npos) << r.out;

  r = onyx_cli("run " + kNode + "test_abs/model.onnx");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("missing input 'x'"), std::string::npos) << r.out;

  r = onyx_cli("run " + kNode + "test_abs/model.onnx --input nope=" + kNode +
               "test_abs/test_data_set_0/input_0.pb");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("unknown input 'nope'"), std::string::npos) << r.out;

  r = onyx_cli("run " + kNode + "test_abs/model.onnx --input x=" + kNode +
               "test_add_bcast/test_data_set_0/input_1.pb");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("input 'x'"), std::string::npos) << r.out;

  r = onyx_cli("run --no-such-flag");
  EXPECT_EQ(r.status, 2);

  std::string loop = kNode + "test_loop11/";  // five trips
  std::string feeds = " -i trip_count=" + loop + "test_data_set_0/input_0.pb -i cond=" + loop +
                      "test_data_set_0/input_1.pb -i y=" + loop + "test_data_set_0/input_2.pb";
  r = onyx_cli("run " + loop + "model.onnx" + feeds + " --max-loop-iterations 2");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("(Loop): stopped after 2 iterations"), std::string::npos) << r.out;
  r = onyx_cli("run " + loop + "model.onnx" + feeds + " --max-loop-iterations 5");
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(Cli, CheckReportsValidityAndMissingKernels) {
  Result r = onyx_cli("check " + kNode + "test_abs/model.onnx");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("valid and runnable"), std::string::npos) << r.out;

  ir::Model m = onnx_io::load_model(kNode + "test_abs/model.onnx");
  m.graph->nodes[0].op_type = "Frobnicate";
  m.graph->nodes[0].name = "weird";
  onnx_io::save_model(m, (dir_ / "bad.onnx").string());
  r = onyx_cli("check " + (dir_ / "bad.onnx").string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("node 'weird' (Frobnicate): unknown op 'Frobnicate'"), std::string::npos)
      << r.out;
}

TEST_F(Cli, ConformanceRatchetFailsOnListedPass) {
  write_file_atomic((dir_ / "known.txt").string(), "node/test_abs listed for the test\n");
  Result r = onyx_cli("conformance --known-failures " + (dir_ / "known.txt").string() + " " +
                      kNode + "test_abs");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("passes but is listed"), std::string::npos) << r.out;
  r = onyx_cli("conformance " + kNode + "test_abs " + kNode + "test_relu");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("2 passed, 0 failed"), std::string::npos) << r.out;
}

// A case listed as "random" is held to its outputs' types and shapes only, so a chance
// match of its values does not trip the ratchet, and a wrong shape still fails.
TEST_F(Cli, ConformanceRandomCasesCompareShapesOnly) {
  write_file_atomic((dir_ / "known.txt").string(), "node/test_abs random, for the test\n");
  Result r = onyx_cli("conformance --known-failures " + (dir_ / "known.txt").string() + " " +
                      kNode + "test_abs");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("values not compared"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 passed, 0 failed, 1 skipped"), std::string::npos) << r.out;

  // The same case with an output of the wrong shape: a failure despite the listing.
  fs::create_directories(dir_ / "node");
  fs::copy(kNode + "test_abs", dir_ / "node" / "test_abs", fs::copy_options::recursive);
  ir::Model m = onnx_io::load_model((dir_ / "node/test_abs/model.onnx").string());
  m.graph->nodes[0].op_type = "ReduceSum";
  onnx_io::save_model(m, (dir_ / "node/test_abs/model.onnx").string());
  r = onyx_cli("conformance --known-failures " + (dir_ / "known.txt").string() + " " +
               (dir_ / "node/test_abs").string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL node/test_abs"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

class CliTraining : public Cli {};

TEST_F(CliTraining, CheckTrainingListsEveryMissingRule) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder b(*m.graph);
  std::string x = b.input(
      "x", ir::TypeInfo::tensor(DType::Float32, std::vector<ir::Dim>{{4, "", ""}, {4, "", ""}}));
  std::string w = b.constant("w", Tensor::zeros(DType::Float32, {4, 4}));
  std::string h = b.op("MatMul", {x, w});
  // Unique: PyTorch cannot differentiate it either.
  b.output(b.op("Unique", {h}));
  b.output(b.op("Unique", {b.op("Transpose", {h})}));
  m.graph->name = "two_without_rules";
  m.graph->nodes[1].name = "unique";
  m.graph->nodes[3].name = "unique_of_transpose";
  onnx_io::save_model(m, (dir_ / "m.onnx").string());
  Result r = onyx_cli("check --training " + (dir_ / "m.onnx").string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("2 node(s) have no gradient rule"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("node 'unique' (Unique)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("node 'unique_of_transpose' (Unique)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not trainable"), std::string::npos) << r.out;

  r = onyx_cli("check --training " + std::string(ONYX_MODELS_DIR) + "/mlp_op13.onnx");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("opset: 13, converts to 17"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("valid, runnable and trainable"), std::string::npos) << r.out;
}

// Opsets past libonnx's 17: grad raises a model's opset when a rule needs it and says so;
// export writes a chosen opset; check judges newer models as libonnx can.
TEST_F(CliTraining, OpsetsGradRaisesExportChoosesCheckConverts) {
  std::string models(ONYX_MODELS_DIR);
  std::string grad = (dir_ / "grad.onnx").string();
  Result r = onyx_cli("grad " + models + "/resnet18_op13.onnx -o " + grad);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("converted the model from opset 13 to 17"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ScatterElements(reduction='add') needs opset 16"), std::string::npos)
      << r.out;
  EXPECT_EQ(onnx_io::load_model(grad).opset(""), 17);
  r = onyx_cli("grad " + models + "/resnet18_op13.onnx -o " + grad + " --opset 13");
  EXPECT_EQ(r.status, 2) << "the opset was chosen: no raising";
  EXPECT_NE(r.out.find("convert the model (--opset 17)"), std::string::npos) << r.out;

  std::string at21 = (dir_ / "cnn21.onnx").string();
  r = onyx_cli("export " + models + "/cnn_op17.onnx -o " + at21 + " --opset 21");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("at opset 21 (converted from 17)"), std::string::npos) << r.out;
  ir::Model m = onnx_io::load_model(at21);
  EXPECT_EQ(m.opset(""), 21);
  EXPECT_EQ(m.ir_version, 10);
  r = onyx_cli("check " + at21);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("checker: ok (as opset 17 and IR 8"), std::string::npos) << r.out;
  r = onyx_cli("export " + models + "/cnn_op17.onnx -o " + at21 + " --opset 24");
  EXPECT_EQ(r.status, 2) << r.out;

  r = onyx_cli("check /usr/share/libonnx-testdata/data/node/test_abs/model.onnx");
  EXPECT_EQ(r.out.find("as opset 17"), std::string::npos) << "an old model is checked as it is";
}

TEST_F(CliTraining, MakeTrainingWritesARunnableStep) {
  std::string step = (dir_ / "step.onnx").string();
  Result r = onyx_cli("make-training " + std::string(ONYX_MODELS_DIR) +
                      "/training/cnn_bn.onnx -o " + step + " --optimizer adamw --lr 0.001");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("10 parameters"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("feed: x labels"), std::string::npos) << r.out;
  ir::Model m = onnx_io::load_model(step);
  const ir::Initializer* lr = m.graph->find_initializer("lr");
  ASSERT_TRUE(lr);
  EXPECT_FLOAT_EQ(lr->value.data<float>()[0], 0.001f);
  r = onyx_cli("check " + step);
  EXPECT_EQ(r.status, 0) << r.out;

  r = onyx_cli("make-training " + std::string(ONYX_MODELS_DIR) + "/training/cnn_bn.onnx -o " +
               step + " --loss hinge");
  EXPECT_EQ(r.status, 2) << r.out;
  r = onyx_cli("make-training " + (dir_ / "missing.onnx").string() + " -o " + step);
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("missing.onnx"), std::string::npos) << r.out;
}

TEST_F(CliTraining, TrainStepRunsTheEmbeddedStepAndSavesItsState) {
  std::string models = std::string(ONYX_MODELS_DIR) + "/training/";
  std::string embedded = (dir_ / "embedded.onnx").string(), out = (dir_ / "out.onnx").string();
  Result r = onyx_cli("make-training " + models + "mlp.onnx -o " + embedded +
                      " --training-info --optimizer momentum");
  ASSERT_EQ(r.status, 0) << r.out;
  testing::TrainingRefs refs("mlp");
  Tensor x = refs.get("x"), labels = refs.get("labels");
  // All 20 batches as one.
  Tensor x0 = x.reshape({x.dim(0) * x.dim(1), x.dim(2)}), l0 = labels.reshape({labels.numel()});
  onnx_io::save_npy(x0, (dir_ / "x.npy").string());
  onnx_io::save_npy(l0, (dir_ / "labels.npy").string());
  std::string feeds =
      " -i x=" + (dir_ / "x.npy").string() + " -i labels=" + (dir_ / "labels.npy").string();
  r = onyx_cli("train-step " + embedded + feeds + " --steps 3 -o " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("step 3: loss"), std::string::npos) << r.out;
  // The saved model resumes: its first loss is below the first run's first.
  Result again = onyx_cli("train-step " + out + feeds);
  ASSERT_EQ(again.status, 0) << again.out;
  double first = std::stod(r.out.substr(r.out.find("step 1: loss ") + 13));
  double resumed = std::stod(again.out.substr(again.out.find("step 1: loss ") + 13));
  EXPECT_LT(resumed, first) << r.out << again.out;

  r = onyx_cli("train-step " + models + "mlp.onnx" + feeds);
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("not a training step"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// onyx bench: random inputs sized by --batch or --dim, latency figures in order, the JSON
// line last; an open dimension left unset is an error naming it.
TEST_F(Cli, BenchTimesRunsOnRandomInputs) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder b(*m.graph);
  std::string x = b.input(
      "x", ir::TypeInfo::tensor(DType::Float32, std::vector<ir::Dim>{{std::nullopt, "N", ""},
                                                                     {std::nullopt, "F", ""}}));
  b.output(
      b.op("Relu", {b.op("MatMul", {x, b.constant("w", Tensor::zeros(DType::Float32, {8, 4}))})}));
  std::string path = (dir_ / "m.onnx").string();
  onnx_io::save_model(m, path);
  Result r =
      onyx_cli("bench " + path + " --dim F=8 --batch 5 --iters 7 --warmup 1 --threads 1 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("1 thread, batch 5, 7 runs after 1 warm-up"), std::string::npos) << r.out;
  std::string json = r.out.substr(r.out.rfind('{'));
  for (const char* key :
       {"\"median_ms\"", "\"min_ms\"", "\"p90_ms\"", "\"batch\": 5", "\"iters\": 7"})
    EXPECT_NE(json.find(key), std::string::npos) << json;
  auto number = [&](const std::string& key) {
    return std::stod(json.substr(json.find("\"" + key + "\": ") + key.size() + 4));
  };
  EXPECT_LE(number("min_ms"), number("median_ms"));
  EXPECT_LE(number("median_ms"), number("p90_ms"));
  r = onyx_cli("bench " + path + " --dim N=3 --iters 2");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("input 'x': dimension 1 ('F') is symbolic: set it with --dim F=N"),
            std::string::npos)
      << r.out;
  r = onyx_cli("bench " + path + " --dim F");
  EXPECT_EQ(r.status, 2) << r.out;
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// onyx draw renders SVG through Graphviz's library: a path holding shell syntax is only a
// path (it once reached a shell through std::system).
TEST_F(Cli, DrawSvgPathsNeverReachAShell) {
  fs::path odd = dir_ / "a';touch PWNED;'";
  fs::create_directories(odd);
  std::string out = (odd / "m.svg").string();
  Result r = onyx_cli("draw " + std::string(ONYX_MODELS_DIR) + "/mlp_op17.onnx -o \"" + out + "\"");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(fs::exists("PWNED"));
  EXPECT_FALSE(fs::exists(dir_ / "PWNED"));
  std::string svg = read_file(out, 1 << 24);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("Gemm"), std::string::npos) << "the graph's nodes are drawn";
}

}  // namespace
}  // namespace onyx
