#include "onyx/core/dtype.h"

namespace onyx {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32:
      return 4;
    case DType::UInt8:
      return 1;
    case DType::Int8:
      return 1;
    case DType::UInt16:
      return 2;
    case DType::Int16:
      return 2;
    case DType::Int32:
      return 4;
    case DType::Int64:
      return 8;
    case DType::String:
      return sizeof(std::string);
    case DType::Bool:
      return 1;
    case DType::Float16:
      return 2;
    case DType::Float64:
      return 8;
    case DType::UInt32:
      return 4;
    case DType::UInt64:
      return 8;
    case DType::Complex64:
      return 8;
    case DType::Complex128:
      return 16;
    case DType::BFloat16:
      return 2;
    case DType::Float8E4M3FN:
    case DType::Float8E4M3FNUZ:
    case DType::Float8E5M2:
    case DType::Float8E5M2FNUZ:
    case DType::UInt4:
    case DType::Int4:
    case DType::Float4E2M1:
    case DType::Float8E8M0:
    case DType::UInt2:
    case DType::Int2:
      return 1;
    case DType::Undefined:
      return 0;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32:
      return "float";
    case DType::UInt8:
      return "uint8";
    case DType::Int8:
      return "int8";
    case DType::UInt16:
      return "uint16";
    case DType::Int16:
      return "int16";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::String:
      return "string";
    case DType::Bool:
      return "bool";
    case DType::Float16:
      return "float16";
    case DType::Float64:
      return "double";
    case DType::UInt32:
      return "uint32";
    case DType::UInt64:
      return "uint64";
    case DType::Complex64:
      return "complex64";
    case DType::Complex128:
      return "complex128";
    case DType::BFloat16:
      return "bfloat16";
    case DType::Float8E4M3FN:
      return "float8e4m3fn";
    case DType::Float8E4M3FNUZ:
      return "float8e4m3fnuz";
    case DType::Float8E5M2:
      return "float8e5m2";
    case DType::Float8E5M2FNUZ:
      return "float8e5m2fnuz";
    case DType::UInt4:
      return "uint4";
    case DType::Int4:
      return "int4";
    case DType::Float4E2M1:
      return "float4e2m1";
    case DType::Float8E8M0:
      return "float8e8m0";
    case DType::UInt2:
      return "uint2";
    case DType::Int2:
      return "int2";
    case DType::Undefined:
      return "undefined";
  }
  return "unknown";
}

bool dtype_from_int(int32_t v, DType* out) {
  if (v < 1 || v > kMaxDType) return false;
  *out = static_cast<DType>(v);
  return true;
}

int dtype_bits(DType t) {
  switch (t) {
    case DType::UInt4:
    case DType::Int4:
    case DType::Float4E2M1:
      return 4;
    case DType::UInt2:
    case DType::Int2:
      return 2;
    default:
      return static_cast<int>(8 * dtype_size(t));
  }
}

size_t dtype_file_bytes(DType t, int64_t numel) {
  int bits = dtype_bits(t);
  if (bits >= 8) return static_cast<size_t>(numel) * static_cast<size_t>(bits / 8);
  int per_byte = 8 / bits;
  return static_cast<size_t>((numel + per_byte - 1) / per_byte);
}

}  // namespace onyx
