// Shapes are plain vectors of dimension sizes; helpers check what user data could break.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onyx {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2,3,4]"

// Element count; throws ResourceLimit on overflow and InvalidArgument on a negative dim.
int64_t shape_numel(const Shape& s);

// Row-major strides in elements.
std::vector<int64_t> shape_strides(const Shape& s);

// NumPy broadcasting of two shapes; returns false when they do not broadcast.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape* out);

// Resolves a possibly negative axis against `rank`; throws InvalidArgument when out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* what = "axis");

}  // namespace onyx
