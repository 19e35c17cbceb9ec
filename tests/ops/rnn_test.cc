#include <gtest/gtest.h>

#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::attr_string;
using testing::run_model;
using testing::single_node_model;

Tensor random_tensor(Shape s, uint32_t seed) {
  return testing::random_tensor(std::move(s), seed, -0.5, 0.5);
}

// Reverses axis 0 of a [seq, ...] tensor.
Tensor reverse_time(const Tensor& t) {
  Tensor out = t.clone();
  int64_t seq = t.dim(0), row = t.numel() / seq;
  for (int64_t s = 0; s < seq; ++s) {
    std::copy_n(t.data<float>() + s * row, row, out.data<float>() + (seq - 1 - s) * row);
  }
  return out;
}

TEST(Rnn, ReverseDirectionEqualsForwardOnReversedInput) {
  for (const char* op : {"RNN", "GRU", "LSTM"}) {
    int64_t gates = std::string(op) == "RNN" ? 1 : std::string(op) == "GRU" ? 3 : 4;
    int64_t seq = 5, batch = 2, in = 3, H = 4;
    Tensor x = random_tensor({seq, batch, in}, 1);
    Tensor w = random_tensor({1, gates * H, in}, 2);
    Tensor r = random_tensor({1, gates * H, H}, 3);
    Tensor b = random_tensor({1, 2 * gates * H}, 4);
    auto fwd = run_model(single_node_model(op, 4, 2, {attr_int("hidden_size", H)}, 14),
                         {reverse_time(x), w, r, b});
    auto rev = run_model(
        single_node_model(op, 4, 2,
                          {attr_int("hidden_size", H), attr_string("direction", "reverse")}, 14),
        {x, w, r, b});
    // Final states agree; Y agrees after reversing time back.
    auto yh_f = fwd[1].tensor().to_vector<float>(), yh_r = rev[1].tensor().to_vector<float>();
    for (size_t i = 0; i < yh_f.size(); ++i) EXPECT_NEAR(yh_f[i], yh_r[i], 1e-6) << op;
    Tensor y_f = reverse_time(fwd[0].tensor().reshape({seq, batch * H}));
    auto y_r = rev[0].tensor().to_vector<float>();
    for (size_t i = 0; i < y_r.size(); ++i) EXPECT_NEAR(y_f.data<float>()[i], y_r[i], 1e-6) << op;
  }
}

// Outputs the graph leaves unused get a tensor each: an LSTM whose Y and Y_h are both unused
// (only Y_c read) gives the Y_c a full model gives (they once shared one scratch tensor).
TEST(Rnn, UnusedOutputsDoNotShareScratch) {
  int64_t seq = 4, batch = 2, in = 3, H = 5;
  Tensor x = random_tensor({seq, batch, in}, 1), w = random_tensor({1, 4 * H, in}, 2),
         r = random_tensor({1, 4 * H, H}, 3);
  ir::Model full = single_node_model("LSTM", 3, 3, {attr_int("hidden_size", H)}, 14);
  ir::Model only_c = full;
  only_c.graph = std::make_shared<ir::Graph>(*full.graph);
  only_c.graph->nodes[0].outputs = {"", "", "out2"};
  only_c.graph->outputs = {full.graph->outputs[2]};
  std::vector<float> want = run_model(full, {x, w, r})[2].tensor().to_vector<float>();
  EXPECT_EQ(run_model(only_c, {x, w, r})[0].tensor().to_vector<float>(), want);
}

TEST(Rnn, BadShapesAndLengthsAreErrors) {
  Tensor x = random_tensor({5, 2, 3}, 1);
  Tensor w = random_tensor({1, 4, 3}, 2);
  Tensor r_bad = random_tensor({1, 4, 5}, 3);
  EXPECT_THROW(
      run_model(single_node_model("RNN", 3, 2, {attr_int("hidden_size", 4)}), {x, w, r_bad}),
      Error);
  Tensor r = random_tensor({1, 4, 4}, 3);
  Tensor lens = Tensor::from_vector<int32_t>({2}, {3, 9});
  try {
    ir::Model m = single_node_model("RNN", 5, 2, {attr_int("hidden_size", 4)});
    m.graph->nodes[0].inputs[3] = "";  // no B
    m.graph->inputs.erase(m.graph->inputs.begin() + 3);
    run_model(m, {x, w, r, Tensor(), lens});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("length 9"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_model(single_node_model("RNN", 3, 2, {attr_int("hidden_size", 0)}), {x, w, r}),
               Error);
}

}  // namespace
}  // namespace onyx
