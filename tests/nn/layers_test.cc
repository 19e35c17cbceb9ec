// The layer API: graphs that compute what PyTorch's layers compute, seeded initialisation
// with PyTorch's distributions, clear errors.
#include "onyx/nn/layers.h"

#include <gtest/gtest.h>

#include <cmath>

#include "onyx/nn/models.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"

namespace onyx {
namespace {

Tensor run1(const ir::Model& m, const Tensor& x) {
  runtime::Session s(m);
  return s.run({{m.graph->inputs[0].name, x}})[0].tensor();
}

// The default CNN given the weights of the PyTorch-exported one computes its outputs.
TEST(NnLayers, CnnMatchesThePyTorchExport) {
  std::string dir = ONYX_MODELS_DIR;
  ir::Model theirs = onnx_io::load_model(dir + "/cnn_op17.onnx");
  ir::Model ours = nn::cnn().to_onnx({1, 28, 28});
  std::vector<const Tensor*> weights;
  for (const auto& init : theirs.graph->initializers) {
    if (init.value.dtype() == DType::Float32) weights.push_back(&init.value);
  }
  auto& mine = ours.graph->initializers;
  ASSERT_EQ(mine.size(), weights.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    ASSERT_EQ(mine[i].value.shape(), weights[i]->shape()) << mine[i].name;
    mine[i].value = *weights[i];
  }
  Tensor x = onnx_io::load_npy(dir + "/cnn_op17_input.npy");
  Tensor want = onnx_io::load_npy(dir + "/cnn_op17_output.npy");
  Tensor got = run1(ours, x);
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-5) << i;
  }
  EXPECT_EQ(mine[0].name, "0.weight");
  EXPECT_EQ(mine.back().name, "9.bias");
}

TEST(NnLayers, InitialisationFollowsPyTorchAndTheSeed) {
  auto weights = [](nn::Layer l, uint64_t seed) {
    ir::Model m = nn::Sequential{l}.to_onnx({400}, seed);
    return m.graph->initializers[0].value;
  };
  auto stats = [](const Tensor& t) {
    double max = 0, sq = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      max = std::max(max, std::abs(double(t.data<float>()[i])));
      sq += double(t.data<float>()[i]) * t.data<float>()[i];
    }
    return std::pair{max, std::sqrt(sq / static_cast<double>(t.numel()))};
  };
  // Default: U(+-1/sqrt(fan_in)), whose standard deviation is bound / sqrt(3).
  auto [max, sd] = stats(weights(nn::Linear(400, 300), 1));
  EXPECT_LE(max, 1 / std::sqrt(400.0));
  EXPECT_NEAR(sd, 1 / std::sqrt(400.0) / std::sqrt(3.0), 0.02 / std::sqrt(400.0));
  // Kaiming normal: N(0, 2/fan_in); Xavier uniform: U(+-sqrt(6/(in+out))).
  EXPECT_NEAR(stats(weights(nn::Linear(400, 300, {.init = nn::Init::KaimingNormal}), 1)).second,
              std::sqrt(2.0 / 400), 0.02 * std::sqrt(2.0 / 400));
  EXPECT_LE(stats(weights(nn::Linear(400, 300, {.init = nn::Init::XavierUniform}), 1)).first,
            std::sqrt(6.0 / 700));
  // Seeded: the same seed gives the same weights, another seed others.
  Tensor a = weights(nn::Linear(400, 3), 7), b = weights(nn::Linear(400, 3), 7),
         c = weights(nn::Linear(400, 3), 8);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_NE(a.to_vector<float>(), c.to_vector<float>());
}

TEST(NnLayers, EveryLayerBuildsAndRuns) {
  nn::Sequential net{nn::Conv2d(3, 8, 3, {.padding = 1, .groups = 1}),
                     nn::BatchNorm2d(8),
                     nn::LeakyReLU(0.1),
                     nn::MaxPool2d(2),
                     nn::Conv2d(8, 8, 3, {.stride = 1, .padding = 1, .groups = 2, .bias = false}),
                     nn::GELU(),
                     nn::AvgPool2d(2),
                     nn::Dropout(0.3),
                     nn::Flatten(),
                     nn::Linear(8 * 2 * 2, 6),
                     nn::Tanh(),
                     nn::Linear(6, 4, {.bias = false}),
                     nn::Sigmoid(),
                     nn::ReLU(),
                     nn::LogSoftmax()};
  ir::Model m = net.to_onnx({3, 8, 8}, 3);
  Tensor x = Tensor::empty(DType::Float32, {2, 3, 8, 8});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = std::sin(0.1f * static_cast<float>(i));
  Tensor y = run1(m, x);
  ASSERT_EQ(y.shape(), (Shape{2, 4}));
  for (int64_t n = 0; n < 2; ++n) {  // log-probabilities: their exponentials sum to 1
    double sum = 0;
    for (int64_t k = 0; k < 4; ++k) sum += std::exp(y.data<float>()[n * 4 + k]);
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  EXPECT_NE(net.describe().find("(4): Conv2d(8, 8, kernel_size=3, stride=1, padding=1, groups=2)"),
            std::string::npos)
      << net.describe();
  // The model is valid ONNX that onyx saves and loads.
  std::string path = ::testing::TempDir() + "/nn_all_layers.onnx";
  net.save(path, {3, 8, 8}, 3);
  EXPECT_EQ(run1(onnx_io::load_model(path), x).to_vector<float>(), y.to_vector<float>());
}

TEST(NnLayers, GeluIsExact) {
  ir::Model m = nn::Sequential{nn::GELU()}.to_onnx({5});
  Tensor x = Tensor::from_vector<float>({1, 5}, {-2, -0.5, 0, 0.7, 3});
  Tensor y = run1(m, x);
  for (int64_t i = 0; i < 5; ++i) {
    double v = x.data<float>()[i];
    EXPECT_NEAR(y.data<float>()[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-6);
  }
}

TEST(NnLayers, BadArgumentsSaySo) {
  EXPECT_THROW(nn::Conv2d(3, 4, 3, {.groups = 2}), Error);
  EXPECT_THROW(nn::Linear(0, 4), Error);
  EXPECT_THROW(nn::Dropout(1.0), Error);
  EXPECT_THROW(nn::MaxPool2d(2, 1, 2), Error);
  EXPECT_THROW(nn::Sequential{}.to_onnx({3}), Error);
  // A shape mismatch surfaces as an error, not a crash, when the graph is typed.
  EXPECT_THROW(nn::Sequential({nn::Flatten(), nn::Linear(10, 2)}).to_onnx({3, 4}), Error);
}

}  // namespace
}  // namespace onyx
