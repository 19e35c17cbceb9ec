// Element types. The numeric values are those of onnx.TensorProto.DataType, so that
// conversion to and from ONNX is a cast.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <string>

#include "onyx/core/error.h"
#include "onyx/core/half.h"

namespace onyx {

enum class DType : int32_t {
  Undefined = 0,
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
  // The narrow types (IR 9 to 13). In memory each element takes one byte: the 8-bit and
  // 4-bit floats hold their bit pattern, the 4- and 2-bit integers their value (sign-extended
  // for the signed ones), so a kernel indexes them like uint8/int8. Files pack the 4-bit
  // types two to a byte and the 2-bit types four (onnx_io). core/narrow.h converts them.
  Float8E4M3FN = 17,
  Float8E4M3FNUZ = 18,
  Float8E5M2 = 19,
  Float8E5M2FNUZ = 20,
  UInt4 = 21,
  Int4 = 22,
  Float4E2M1 = 23,
  Float8E8M0 = 24,
  UInt2 = 25,
  Int2 = 26,
};

inline constexpr int32_t kMaxDType = 26;

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // ONNX spelling: "float", "int64", ...
bool dtype_from_int(int32_t v, DType* out);
inline bool is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}
inline bool is_signed_int(DType t) {
  return t == DType::Int8 || t == DType::Int16 || t == DType::Int32 || t == DType::Int64;
}
inline bool is_unsigned_int(DType t) {
  return t == DType::UInt8 || t == DType::UInt16 || t == DType::UInt32 || t == DType::UInt64;
}
inline bool is_integer(DType t) {
  return is_signed_int(t) || is_unsigned_int(t);
}
inline bool is_narrow(DType t) {
  return static_cast<int32_t>(t) >= static_cast<int32_t>(DType::Float8E4M3FN) &&
         static_cast<int32_t>(t) <= kMaxDType;
}
// Bits per element in a file (TensorProto.raw_data, int32_data): 2 or 4 for the packed
// narrow types, 8 * dtype_size otherwise.
int dtype_bits(DType t);
// Bytes `numel` elements take in a file, packed narrow types rounded up to whole bytes.
size_t dtype_file_bytes(DType t, int64_t numel);

template <typename T>
struct DTypeOf;
#define ONYX_DTYPE_OF(T, D)                  \
  template <>                                \
  struct DTypeOf<T> {                        \
    static constexpr DType value = DType::D; \
  };
ONYX_DTYPE_OF(float, Float32)
ONYX_DTYPE_OF(double, Float64)
ONYX_DTYPE_OF(Float16, Float16)
ONYX_DTYPE_OF(BFloat16, BFloat16)
ONYX_DTYPE_OF(int8_t, Int8)
ONYX_DTYPE_OF(int16_t, Int16)
ONYX_DTYPE_OF(int32_t, Int32)
ONYX_DTYPE_OF(int64_t, Int64)
ONYX_DTYPE_OF(uint8_t, UInt8)
ONYX_DTYPE_OF(uint16_t, UInt16)
ONYX_DTYPE_OF(uint32_t, UInt32)
ONYX_DTYPE_OF(uint64_t, UInt64)
ONYX_DTYPE_OF(bool, Bool)
ONYX_DTYPE_OF(std::string, String)
ONYX_DTYPE_OF(std::complex<float>, Complex64)
ONYX_DTYPE_OF(std::complex<double>, Complex128)
#undef ONYX_DTYPE_OF

template <typename T>
inline constexpr DType dtype_of = DTypeOf<T>::value;

// Calls f(T{}) with T the C++ type of `t`: the one place a kernel dispatches on dtype.
// The dispatch happens once per kernel call; the loop inside f is typed.
template <typename F>
decltype(auto) visit_numeric(DType t, F&& f) {
  switch (t) {
    case DType::Float32:
      return f(float{});
    case DType::Float64:
      return f(double{});
    case DType::Float16:
      return f(Float16{});
    case DType::BFloat16:
      return f(BFloat16{});
    case DType::Int8:
      return f(int8_t{});
    case DType::Int16:
      return f(int16_t{});
    case DType::Int32:
      return f(int32_t{});
    case DType::Int64:
      return f(int64_t{});
    case DType::UInt8:
      return f(uint8_t{});
    case DType::UInt16:
      return f(uint16_t{});
    case DType::UInt32:
      return f(uint32_t{});
    case DType::UInt64:
      return f(uint64_t{});
    case DType::Bool:
      return f(bool{});
    default:
      break;
  }
  fail(ErrorKind::Unsupported, "element type ", dtype_name(t), " is not supported here");
}

// As visit_numeric, plus string: for ops that only move elements around. The narrow types
// move as the bytes they are stored in (uint8_t; T{} is their zero).
template <typename F>
decltype(auto) visit_any(DType t, F&& f) {
  if (t == DType::String) return f(std::string{});
  if (is_narrow(t)) return f(uint8_t{});
  if (t == DType::Complex64) return f(std::complex<float>{});
  if (t == DType::Complex128) return f(std::complex<double>{});
  return visit_numeric(t, std::forward<F>(f));
}

template <typename F>
decltype(auto) visit_float(DType t, F&& f) {
  switch (t) {
    case DType::Float32:
      return f(float{});
    case DType::Float64:
      return f(double{});
    case DType::Float16:
      return f(Float16{});
    case DType::BFloat16:
      return f(BFloat16{});
    default:
      break;
  }
  fail(ErrorKind::Unsupported, "element type ", dtype_name(t), " is not a floating point type");
}

template <typename F>
decltype(auto) visit_integer(DType t, F&& f) {
  switch (t) {
    case DType::Int8:
      return f(int8_t{});
    case DType::Int16:
      return f(int16_t{});
    case DType::Int32:
      return f(int32_t{});
    case DType::Int64:
      return f(int64_t{});
    case DType::UInt8:
      return f(uint8_t{});
    case DType::UInt16:
      return f(uint16_t{});
    case DType::UInt32:
      return f(uint32_t{});
    case DType::UInt64:
      return f(uint64_t{});
    default:
      break;
  }
  fail(ErrorKind::Unsupported, "element type ", dtype_name(t), " is not an integer type");
}

// The type arithmetic happens in: float for the 16-bit floats, the type itself otherwise.
template <typename T>
struct ComputeType {
  using type = T;
};
template <>
struct ComputeType<Float16> {
  using type = float;
};
template <>
struct ComputeType<BFloat16> {
  using type = float;
};
template <typename T>
using compute_t = typename ComputeType<T>::type;

// Conversions for kernels that compute in double whatever T is: through compute_t, so the
// 16-bit floats convert and float64 keeps its precision (casting through float would not).
template <typename T>
double to_double(T v) {
  return static_cast<double>(static_cast<compute_t<T>>(v));
}
template <typename T>
T from_double(double v) {
  return static_cast<T>(static_cast<compute_t<T>>(v));
}

}  // namespace onyx
