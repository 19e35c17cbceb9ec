// Shape arithmetic user data reaches: Reshape targets, element counts past int64.
#include "onyx/core/shape.h"

#include <gtest/gtest.h>

#include <limits>

#include "onyx/core/error.h"

namespace onyx {
namespace {

TEST(Shape, ReshapedShapeFollowsTheReshapeOp) {
  EXPECT_EQ(reshaped_shape({2, 3, 4}, {0, -1}, false), (Shape{2, 12}));
  EXPECT_EQ(reshaped_shape({2, 3, 4}, {-1}, false), (Shape{24}));
  EXPECT_EQ(reshaped_shape({2, 3, 4}, {4, 0, 2}, false), (Shape{4, 3, 2}));
  EXPECT_EQ(reshaped_shape({0, 3}, {3, 0}, true), (Shape{3, 0}));
  EXPECT_EQ(reshaped_shape({2, 3}, {6, 0}, false), std::nullopt) << "0 past the input's rank";
  EXPECT_EQ(reshaped_shape({2, 3}, {-1, -1}, false), std::nullopt);
  EXPECT_EQ(reshaped_shape({2, 3}, {4, -1}, false), std::nullopt) << "6 is not a multiple of 4";
  EXPECT_EQ(reshaped_shape({2, 3}, {5}, false), std::nullopt);
  EXPECT_EQ(reshaped_shape({2, 3}, {-2, 3}, false), std::nullopt);
  EXPECT_EQ(reshaped_shape({0, 3}, {0, -1}, true), std::nullopt) << "-1 beside a 0 size";
  // Products past int64 are invalid, not wrapped into a size that happens to match.
  const int64_t big = int64_t{1} << 62;
  EXPECT_EQ(reshaped_shape({4}, {big, 4, 0}, true), std::nullopt);
  EXPECT_EQ(reshaped_shape({big, 4}, {-1}, false), std::nullopt);
}

TEST(Shape, NumelRefusesOverflowAndNegativeSizes) {
  EXPECT_EQ(shape_numel({2, 3, 0}), 0);
  EXPECT_THROW(shape_numel({int64_t{1} << 40, int64_t{1} << 40}), Error);
  EXPECT_THROW(shape_numel({2, -1}), Error);
}

}  // namespace
}  // namespace onyx
