// Robustness: real models with random byte mutations must load and run or fail with an
// onyx::Error — never crash, hang or throw anything else. Seeded, so failures reproduce.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "onyx/core/file_util.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;

struct Limit {
  explicit Limit(size_t bytes) : saved(memory_limit()) { set_memory_limit(bytes); }
  ~Limit() { set_memory_limit(saved); }
  size_t saved;
};

void run_mutations(const std::string& case_dir, int mutations, uint32_t seed) {
  std::string model_path = case_dir + "/model.onnx";
  if (!fs::exists(model_path)) GTEST_SKIP() << model_path << " not installed";
  std::string original = read_file(model_path);
  ir::Model clean = onnx_io::load_model(model_path);
  std::vector<Value> inputs;
  for (size_t i = 0; i < clean.graph->inputs.size(); ++i) {
    std::string p = case_dir + "/test_data_set_0/input_" + std::to_string(i) + ".pb";
    if (!fs::exists(p)) break;
    inputs.push_back(onnx_io::load_value_file(p, &clean.graph->inputs[i].type));
  }
  Limit limit(size_t{64} << 20);
  std::mt19937 rng(seed);
  int ran = 0, rejected = 0;
  for (int m = 0; m < mutations; ++m) {
    std::string bytes = original;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % bytes.size();
      switch (rng() % 3) {
        case 0:
          bytes[at] = static_cast<char>(rng());
          break;
        case 1:
          bytes[at] ^= static_cast<char>(1u << (rng() % 8));
          break;
        case 2:
          bytes.resize(at);
          break;
      }
      if (bytes.empty()) break;
    }
    try {
      runtime::SessionOptions so;
      so.threads = 1;
      runtime::Session s(onnx_io::load_model_from_bytes(bytes, "", "mutated"), so);
      runtime::NamedValues feeds;
      size_t k = 0;
      for (const auto& in : s.inputs()) {
        if (k < inputs.size()) feeds.emplace_back(in.name, inputs[k++]);
      }
      s.run(feeds);
      ++ran;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_EQ(ran + rejected, mutations);
  // Some mutations must survive parsing and run, or the test exercises nothing.
  EXPECT_GT(ran, 0) << case_dir;
}

const std::string kNode = "/usr/share/libonnx-testdata/data/node/";
const std::string kConverted = "/usr/share/libonnx-testdata/data/pytorch-converted/";

TEST(Mutation, ElementwiseModels) {
  run_mutations(kNode + "test_add_bcast", 400, 1);
  run_mutations(kNode + "test_where_example", 400, 2);
  run_mutations(kNode + "test_clip", 400, 3);
}

TEST(Mutation, NetworkModels) {
  for (const char* name : {"test_Conv2d", "test_MaxPool2d", "test_Linear", "test_BatchNorm2d_eval",
                           "test_AvgPool2d", "test_ConvTranspose2d", "test_PixelShuffle"}) {
    run_mutations(kConverted + name, 300, 7);
  }
  for (const char* name :
       {"test_gather_0", "test_slice", "test_reshape_extended_dims",
        "test_scatter_elements_with_axis", "test_resize_upsample_scales_linear", "test_if",
        "test_sequence_insert_at_back", "test_einsum_batch_matmul", "test_top_k",
        "test_reduce_sum_keepdims_example", "test_onehot_with_axis"}) {
    run_mutations(kNode + name, 200, 11);
  }
}

}  // namespace
}  // namespace onyx
