// The narrow element types (float8e4m3fn ... int2, ONNX 17-26): their values, the
// conversion from wider values with the rounding and saturation the Cast spec gives, and
// the packed layout files use. In memory each element is one byte (see DType).
#pragma once

#include <cstdint>

#include "onyx/core/dtype.h"

namespace onyx {

// Cast's attributes for a conversion to a narrow float. round_mode only matters for
// float8e8m0; saturate for the float8 types (float4e2m1 always saturates, as it has no NaN).
enum class RoundMode { Up, Down, Nearest };
struct NarrowCast {
  bool saturate = true;
  RoundMode round = RoundMode::Up;
};

bool is_narrow_float(DType t);
bool is_narrow_int(DType t);

// The values of the 256 stored bytes of a narrow type (NaN where the format has one); all
// are exact in float. The integers give their value, so table[uint8_t(int8_t(-3))] is -3.
const float* narrow_values(DType t);

// The stored byte for v. Floats round to nearest even in the format's mantissa width (float8e8m0
// as `how.round` says); values past the largest finite one saturate, or become NaN or
// infinity when `how.saturate` is false and the format has them. Integers truncate toward zero
// and wrap to the type's width, as Cast does for every narrowing integer conversion.
uint8_t narrow_from_double(DType t, double v, const NarrowCast& how = {});

// v's low bits as the narrow integer type t (sign-extended for the signed ones).
uint8_t narrow_wrap_int(DType t, int64_t v);

// The range of a narrow integer type, for the saturating QuantizeLinear.
int narrow_int_min(DType t);
int narrow_int_max(DType t);

// The file layout: 4-bit elements two to a byte and 2-bit elements four, first element in
// the low bits (IR.md, onnx.proto's raw_data). `packed` holds dtype_file_bytes(t, n) bytes;
// unpacking sign-extends the signed integers.
void pack_narrow(DType t, const uint8_t* stored, int64_t n, uint8_t* packed);
void unpack_narrow(DType t, const uint8_t* packed, int64_t n, uint8_t* stored);

}  // namespace onyx
