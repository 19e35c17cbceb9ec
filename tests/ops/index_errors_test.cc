// Out-of-range indices and absurd sizes are errors that name the node, the input and the
// value; they never read or write out of bounds.
#include <gtest/gtest.h>

#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::error_of;
using testing::run_model;
using testing::single_node_model;

const Tensor kData = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});

TEST(IndexErrors, GatherOutOfRange) {
  std::string msg = error_of(single_node_model("Gather", 2, 1, {attr_int("axis", 1)}),
                             {kData, Tensor::from_vector<int64_t>({2}, {0, 3})});
  EXPECT_NE(msg.find("node 'n0' (Gather)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("index 3"), std::string::npos) << msg;
  // Negative indices within range count from the end.
  auto y = run_model(single_node_model("Gather", 2, 1, {attr_int("axis", 1)}),
                     {kData, Tensor::from_vector<int64_t>({1}, {-1})});
  EXPECT_EQ(y[0].tensor().to_vector<float>(), (std::vector<float>{3, 6}));
  EXPECT_NE(
      error_of(single_node_model("Gather", 2, 1), {kData, Tensor::from_vector<int64_t>({1}, {-3})}),
      "");
}

TEST(IndexErrors, GatherElementsAndNDOutOfRange) {
  EXPECT_NE(error_of(single_node_model("GatherElements", 2, 1),
                     {kData, Tensor::from_vector<int64_t>({1, 1}, {5})})
                .find("index 5"),
            std::string::npos);
  EXPECT_NE(error_of(single_node_model("GatherND", 2, 1),
                     {kData, Tensor::from_vector<int64_t>({1, 2}, {1, 7})})
                .find("index 7"),
            std::string::npos);
}

TEST(IndexErrors, ScatterOutOfRange) {
  Tensor upd = Tensor::from_vector<float>({1, 1}, {9});
  std::string msg = error_of(single_node_model("ScatterElements", 3, 1),
                             {kData, Tensor::from_vector<int64_t>({1, 1}, {-4}), upd});
  EXPECT_NE(msg.find("index -4"), std::string::npos) << msg;
  msg = error_of(
      single_node_model("ScatterND", 3, 1),
      {kData, Tensor::from_vector<int64_t>({1, 2}, {0, 3}), Tensor::from_vector<float>({1}, {9})});
  EXPECT_NE(msg.find("index 3"), std::string::npos) << msg;
}

TEST(IndexErrors, SliceClampsAsTheSpecSaysButRejectsBadAxes) {
  // Out-of-range starts/ends are clamped (the spec defines that), so this is valid.
  auto y = run_model(
      single_node_model("Slice", 3, 1),
      {kData, Tensor::from_vector<int64_t>({1}, {-100}), Tensor::from_vector<int64_t>({1}, {100})});
  EXPECT_EQ(y[0].tensor().shape(), (Shape{2, 3}));
  std::string msg =
      error_of(single_node_model("Slice", 4, 1),
               {kData, Tensor::from_vector<int64_t>({1}, {0}),
                Tensor::from_vector<int64_t>({1}, {1}), Tensor::from_vector<int64_t>({1}, {2})});
  EXPECT_NE(msg.find("axis 2 is out of range"), std::string::npos) << msg;
  msg = error_of(
      single_node_model("Slice", 5, 1),
      {kData, Tensor::from_vector<int64_t>({1}, {0}), Tensor::from_vector<int64_t>({1}, {1}),
       Tensor::from_vector<int64_t>({1}, {0}), Tensor::from_vector<int64_t>({1}, {0})});
  EXPECT_NE(msg.find("steps must not be zero"), std::string::npos) << msg;
}

TEST(IndexErrors, HugeShapesAreResourceLimits) {
  ErrorKind kind = ErrorKind::Internal;
  std::string msg =
      error_of(single_node_model("ConstantOfShape", 1, 1),
               {Tensor::from_vector<int64_t>({3}, {1 << 20, 1 << 20, 1 << 20})}, &kind);
  EXPECT_EQ(kind, ErrorKind::ResourceLimit) << msg;
  msg = error_of(
      single_node_model("Expand", 2, 1),
      {kData, Tensor::from_vector<int64_t>({4}, {int64_t{1} << 40, int64_t{1} << 40, 2, 3})},
      &kind);
  EXPECT_EQ(kind, ErrorKind::ResourceLimit) << msg;
  msg = error_of(single_node_model("Tile", 2, 1),
                 {kData, Tensor::from_vector<int64_t>({2}, {int64_t{1} << 62, 2})}, &kind);
  EXPECT_EQ(kind, ErrorKind::ResourceLimit) << msg;
}

// Pad's per-dimension index tables came before the output: pads of 2^40 asked the machine for
// 16 TB (std::bad_alloc, "out of memory" naming nothing), and 2^62 overflowed the sum.
TEST(IndexErrors, HugePadsAreResourceLimitsBeforeAnyTable) {
  ErrorKind kind = ErrorKind::Internal;
  const int64_t big = int64_t{1} << 40;
  std::string msg = error_of(single_node_model("Pad", 2, 1),
                             {kData, Tensor::from_vector<int64_t>({4}, {0, 0, big, big})}, &kind);
  EXPECT_EQ(kind, ErrorKind::ResourceLimit) << msg;
  EXPECT_NE(msg.find("node 'n0' (Pad)"), std::string::npos) << msg;
  // An empty output needs no table, however long its other dimensions are.
  auto y = run_model(single_node_model("Pad", 2, 1),
                     {kData, Tensor::from_vector<int64_t>({4}, {0, 0, -2, big})});
  EXPECT_EQ(y[0].tensor().shape(), (Shape{0, 3 + big}));
  msg = error_of(
      single_node_model("Pad", 2, 1),
      {kData, Tensor::from_vector<int64_t>({4}, {0, int64_t{1} << 62, 0, int64_t{1} << 62})});
  EXPECT_NE(msg.find("overflow"), std::string::npos) << msg;
}

TEST(IndexErrors, OneHotOutOfRangeIsOff) {
  // OneHot defines out-of-range indices as all-off rows.
  Tensor values = Tensor::from_vector<float>({2}, {0, 1});
  auto y = run_model(single_node_model("OneHot", 3, 1), {Tensor::from_vector<int64_t>({2}, {1, 7}),
                                                         Tensor::scalar<int64_t>(3), values});
  EXPECT_EQ(y[0].tensor().to_vector<float>(), (std::vector<float>{0, 1, 0, 0, 0, 0}));
}

TEST(IndexErrors, LossLabelsOutOfRange) {
  Tensor scores = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  std::string msg = error_of(single_node_model("SoftmaxCrossEntropyLoss", 2, 1),
                             {scores, Tensor::from_vector<int64_t>({2}, {0, 3})});
  EXPECT_NE(msg.find("class 3"), std::string::npos) << msg;
}

}  // namespace
}  // namespace onyx
