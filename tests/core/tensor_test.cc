#include <gtest/gtest.h>

#include "onyx/core/tensor.h"

namespace onyx {

TEST(Tensor, FromVectorAndReshape) {
  Tensor t = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  Tensor r = t.reshape({3, 2});
  EXPECT_EQ(r.data<float>()[5], 6.0f);
  EXPECT_THROW(t.reshape({4, 2}), Error);
}

TEST(Tensor, OverflowingShapeIsResourceLimit) {
  try {
    Tensor::empty(DType::Float32, {int64_t{1} << 40, int64_t{1} << 40});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ResourceLimit);
  }
}

TEST(Tensor, MemoryLimitIsEnforced) {
  try {
    Tensor::empty(DType::Float32, {int64_t{1} << 36});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ResourceLimit);
  }
}

TEST(Half, RoundTripsAndRounds) {
  EXPECT_EQ(static_cast<float>(Float16(1.0f)), 1.0f);
  EXPECT_EQ(static_cast<float>(Float16(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(Float16(70000.0f))));
  EXPECT_EQ(Float16(1.0f + 1.0f / 2048).bits, Float16(1.0f).bits);  // tie to even
  EXPECT_EQ(static_cast<float>(Float16(5.9604644775390625e-8f)), 5.9604644775390625e-8f);
  EXPECT_EQ(static_cast<float>(BFloat16(1.5f)), 1.5f);
}

}  // namespace onyx

namespace onyx {

// GCC 12.2 with AVX-512 targets turns this initializer into eight ones (see DECISIONS.md);
// this guards the build flags against that miscompile coming back.
TEST(Toolchain, VectorInitializerIsCompiledCorrectly) {
  std::vector<int32_t> v{1, 1, 1, 1, 0, 0, 0, 0};
  EXPECT_EQ(v[4], 0);
  EXPECT_EQ(v[7], 0);
}

}  // namespace onyx
