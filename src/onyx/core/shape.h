// Shapes are plain vectors of dimension sizes; helpers check what user data could break.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace onyx {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2,3,4]"

// Element count; throws ResourceLimit on overflow and InvalidArgument on a negative dim.
int64_t shape_numel(const Shape& s);

// What Reshape makes of `in` with the target shape `target` (0 copies the input's size
// unless `allowzero`; one -1 is inferred), or nullopt when the target is invalid for `in`
// (element counts differ, two -1s, a product past int64).
std::optional<Shape> reshaped_shape(const Shape& in, const std::vector<int64_t>& target,
                                    bool allowzero);

// Row-major strides in elements.
std::vector<int64_t> shape_strides(const Shape& s);

// NumPy broadcasting of two shapes; returns false when they do not broadcast.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape* out);

// Resolves a possibly negative axis against `rank`; throws InvalidArgument when out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* what = "axis");

}  // namespace onyx
