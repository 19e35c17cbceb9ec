#include <gtest/gtest.h>

#include <limits>

#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::run_model;
using testing::single_node_model;

TEST(Elementwise, AddBroadcastsRowAndColumn) {
  Tensor a = Tensor::from_vector<float>({2, 1}, {1, 2});
  Tensor b = Tensor::from_vector<float>({3}, {10, 20, 30});
  auto out = run_model(single_node_model("Add", 2, 1), {a, b});
  EXPECT_EQ(out[0].tensor().shape(), (Shape{2, 3}));
  EXPECT_EQ(out[0].tensor().to_vector<float>(), (std::vector<float>{11, 21, 31, 12, 22, 32}));
}

TEST(Elementwise, BroadcastMismatchNamesNodeAndShapes) {
  Tensor a = Tensor::from_vector<float>({2}, {1, 2});
  Tensor b = Tensor::from_vector<float>({3}, {1, 2, 3});
  try {
    run_model(single_node_model("Mul", 2, 1), {a, b});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("node 'n0' (Mul)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2]"), std::string::npos) << msg;
  }
}

TEST(Elementwise, IntegerDivisionByZeroIsDefined) {
  Tensor a = Tensor::from_vector<int32_t>({2}, {7, -7});
  Tensor b = Tensor::from_vector<int32_t>({2}, {0, 2});
  auto out = run_model(single_node_model("Div", 2, 1), {a, b});
  EXPECT_EQ(out[0].tensor().to_vector<int32_t>(), (std::vector<int32_t>{0, -3}));
}

// The one quotient that overflows: INT_MIN / -1 (which traps on x86) wraps, as NumPy's does;
// INT_MIN % -1 is 0.
TEST(Elementwise, IntegerMinimumOverMinusOneDoesNotTrap) {
  int64_t lo = std::numeric_limits<int64_t>::min();
  Tensor a = Tensor::from_vector<int64_t>({3}, {lo, lo, 9});
  Tensor b = Tensor::from_vector<int64_t>({3}, {-1, 1, -1});
  EXPECT_EQ(run_model(single_node_model("Div", 2, 1), {a, b})[0].tensor().to_vector<int64_t>(),
            (std::vector<int64_t>{lo, lo, -9}));
  for (int64_t fmod : {0, 1}) {
    Tensor r =
        run_model(single_node_model("Mod", 2, 1, {attr_int("fmod", fmod)}), {a, b})[0].tensor();
    EXPECT_EQ(r.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0})) << "fmod " << fmod;
  }
  int32_t lo32 = std::numeric_limits<int32_t>::min();
  Tensor a32 = Tensor::from_vector<int32_t>({1}, {lo32}),
         b32 = Tensor::from_vector<int32_t>({1}, {-1});
  EXPECT_EQ(run_model(single_node_model("Div", 2, 1), {a32, b32})[0].tensor().to_vector<int32_t>(),
            (std::vector<int32_t>{lo32}));
}

TEST(Elementwise, MixedTypesAreRejected) {
  Tensor a = Tensor::from_vector<float>({1}, {1});
  Tensor b = Tensor::from_vector<int64_t>({1}, {1});
  EXPECT_THROW(run_model(single_node_model("Add", 2, 1), {a, b}), Error);
}

TEST(Elementwise, SameResultWithTwoThreads) {
  std::vector<float> x(100000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97) - 48.0f;
  Tensor t = Tensor::from_vector<float>({100, 1000}, x);
  Tensor b = Tensor::from_vector<float>({1000}, std::vector<float>(1000, 0.5f));
  auto one = run_model(single_node_model("Add", 2, 1), {t, b}, 1);
  auto two = run_model(single_node_model("Add", 2, 1), {t, b}, 2);
  EXPECT_EQ(one[0].tensor().to_vector<float>(), two[0].tensor().to_vector<float>());
  EXPECT_EQ(two[0].tensor().to_vector<float>()[0], -47.5f);
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// Range counts integers exactly: starts near 2^62 (where a double's count was wrong) and
// negative steps; a count past memory is a clear error.
TEST(Elementwise, IntegerRangeCountsExactly) {
  auto range = [](int64_t s, int64_t l, int64_t d) {
    return testing::run_model(testing::single_node_model("Range", 3, 1, {}, 17),
                              {Tensor::scalar<int64_t>(s), Tensor::scalar<int64_t>(l),
                               Tensor::scalar<int64_t>(d)})[0]
        .tensor()
        .to_vector<int64_t>();
  };
  int64_t big = int64_t{1} << 62;
  EXPECT_EQ(range(big + 1, big + 4, 1), (std::vector<int64_t>{big + 1, big + 2, big + 3}));
  EXPECT_EQ(range(10, 3, -3), (std::vector<int64_t>{10, 7, 4}));
  EXPECT_EQ(range(3, 10, -1), (std::vector<int64_t>{}));
  EXPECT_THROW(range(0, std::numeric_limits<int64_t>::max(), 1), Error);
}

}  // namespace
}  // namespace onyx
