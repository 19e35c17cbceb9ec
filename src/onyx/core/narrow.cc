#include "onyx/core/narrow.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace onyx {

namespace {

// Where a format keeps its NaNs: FN formats use the all-ones patterns S.1111.111, FNUZ formats
// the one pattern 0x80 (they have no negative zero), IEEE formats exponent all ones
// (mantissa 0 being infinity). float4e2m1 has none.
enum class NanKind { AllOnes, NegativeZero, Ieee, None };

struct Format {
  int exp_bits;
  int man_bits;
  int bias;
  double max;  // largest finite value
  NanKind nan;
};

const Format* float_format(DType t) {
  static constexpr Format e4m3fn{4, 3, 7, 448.0, NanKind::AllOnes};
  static constexpr Format e4m3fnuz{4, 3, 8, 240.0, NanKind::NegativeZero};
  static constexpr Format e5m2{5, 2, 15, 57344.0, NanKind::Ieee};
  static constexpr Format e5m2fnuz{5, 2, 16, 57344.0, NanKind::NegativeZero};
  static constexpr Format e2m1{2, 1, 1, 6.0, NanKind::None};
  switch (t) {
    case DType::Float8E4M3FN:
      return &e4m3fn;
    case DType::Float8E4M3FNUZ:
      return &e4m3fnuz;
    case DType::Float8E5M2:
      return &e5m2;
    case DType::Float8E5M2FNUZ:
      return &e5m2fnuz;
    case DType::Float4E2M1:
      return &e2m1;
    default:
      return nullptr;
  }
}

int sign_shift(const Format& f) {
  return f.exp_bits + f.man_bits;
}

double decode(const Format& f, unsigned code) {
  unsigned sign = (code >> sign_shift(f)) & 1u;
  unsigned exp = (code >> f.man_bits) & ((1u << f.exp_bits) - 1);
  unsigned man = code & ((1u << f.man_bits) - 1);
  unsigned all_ones = (1u << f.exp_bits) - 1;
  double nan = std::numeric_limits<double>::quiet_NaN();
  if (f.nan == NanKind::NegativeZero && code == 0x80u) return nan;
  if (f.nan == NanKind::AllOnes && exp == all_ones && man == (1u << f.man_bits) - 1) return nan;
  if (f.nan == NanKind::Ieee && exp == all_ones) {
    return man ? nan : (sign ? -INFINITY : INFINITY);
  }
  double v =
      exp == 0 ? std::ldexp(man, 1 - f.bias - f.man_bits)
               : std::ldexp((1u << f.man_bits) + man, static_cast<int>(exp) - f.bias - f.man_bits);
  return sign ? -v : v;
}

unsigned nan_code(const Format& f, bool negative) {
  unsigned s = negative ? 1u << sign_shift(f) : 0u;
  switch (f.nan) {
    case NanKind::AllOnes:
      return s | ((1u << sign_shift(f)) - 1);
    case NanKind::NegativeZero:
      return 0x80u;
    case NanKind::Ieee:
      return s | ((1u << sign_shift(f)) - 1);
    case NanKind::None:
      return 1u << sign_shift(f);  // as the ONNX reference: -0, the format has no NaN
  }
  return 0;
}

unsigned max_code(const Format& f, bool negative) {
  unsigned s = negative ? 1u << sign_shift(f) : 0u;
  unsigned all = (1u << sign_shift(f)) - 1;
  switch (f.nan) {
    case NanKind::AllOnes:
      return s | (all - 1);  // S.1111.110
    case NanKind::Ieee:
      return s | (all - (1u << f.man_bits));  // exponent one below all ones, mantissa full
    default:
      return s | all;
  }
}

unsigned encode(const Format& f, double v, bool saturate) {
  bool negative = std::signbit(v);
  if (std::isnan(v)) return nan_code(f, negative);
  unsigned s = negative ? 1u << sign_shift(f) : 0u;
  bool has_zero_sign = f.nan != NanKind::NegativeZero;
  auto overflow = [&]() -> unsigned {
    if (saturate || f.nan == NanKind::None) return max_code(f, negative);
    if (f.nan == NanKind::Ieee) return s | (((1u << f.exp_bits) - 1) << f.man_bits);  // inf
    return nan_code(f, negative);
  };
  double a = std::fabs(v);
  if (std::isinf(a)) return overflow();
  // Round to the format's mantissa width as if its exponent range had no top: the quantum
  // is that of a's binade, or of the subnormals below the smallest normal.
  int emin = 1 - f.bias;
  int e = a == 0.0 ? emin : std::max(std::ilogb(a), emin);
  double q = std::nearbyint(std::ldexp(a, f.man_bits - e));  // half to even
  double r = std::ldexp(q, e - f.man_bits);
  if (r > f.max) return overflow();
  if (r == 0.0) return has_zero_sign ? s : 0u;
  int er = std::ilogb(r);
  if (er < emin) return s | static_cast<unsigned>(q);  // subnormal: exponent field 0
  unsigned man = static_cast<unsigned>(std::ldexp(r, f.man_bits - er)) - (1u << f.man_bits);
  return s | (static_cast<unsigned>(er + f.bias) << f.man_bits) | man;
}

// float8e8m0: 2^(code - 127), code 255 is NaN; no sign, no zero, no mantissa.
unsigned encode_e8m0(double v, const NarrowCast& how) {
  if (std::isnan(v)) return 0xFF;
  double a = std::fabs(v);  // negative values are undefined in the spec; take the magnitude
  if (std::isinf(a)) return how.saturate ? 0xFE : 0xFF;
  if (a == 0.0) return how.saturate ? 0x00 : 0xFF;
  int m_exp = 0;
  double m = 2.0 * std::frexp(a, &m_exp);  // a = m * 2^(m_exp - 1), m in [1, 2)
  int k = m_exp - 1;
  if ((how.round == RoundMode::Up && m > 1.0) || (how.round == RoundMode::Nearest && m >= 1.5)) ++k;
  int code = k + 127;
  if (code < 0) return how.saturate ? 0x00 : 0xFF;
  if (code > 0xFE) return how.saturate ? 0xFE : 0xFF;
  return static_cast<unsigned>(code);
}

using Table = std::array<float, 256>;

Table make_table(DType t) {
  Table out{};
  const Format* f = float_format(t);
  for (unsigned b = 0; b < 256; ++b) {
    if (f) {
      out[b] = static_cast<float>(decode(*f, b & ((1u << (sign_shift(*f) + 1)) - 1)));
    } else if (t == DType::Float8E8M0) {
      out[b] = b == 0xFF ? NAN : std::ldexp(1.0f, static_cast<int>(b) - 127);
    } else if (is_narrow_int(t) && narrow_int_min(t) < 0) {
      out[b] = static_cast<float>(static_cast<int8_t>(b));
    } else {
      out[b] = static_cast<float>(b);
    }
  }
  return out;
}

}  // namespace

bool is_narrow_float(DType t) {
  return float_format(t) != nullptr || t == DType::Float8E8M0;
}

bool is_narrow_int(DType t) {
  return t == DType::Int4 || t == DType::UInt4 || t == DType::Int2 || t == DType::UInt2;
}

int narrow_int_min(DType t) {
  return t == DType::Int4 ? -8 : t == DType::Int2 ? -2 : 0;
}

int narrow_int_max(DType t) {
  return t == DType::Int4 ? 7 : t == DType::UInt4 ? 15 : t == DType::Int2 ? 1 : 3;
}

const float* narrow_values(DType t) {
  static const std::array<Table, kMaxDType + 1> tables = [] {
    std::array<Table, kMaxDType + 1> all{};
    for (int32_t i = 0; i <= kMaxDType; ++i) {
      if (is_narrow(static_cast<DType>(i))) all[i] = make_table(static_cast<DType>(i));
    }
    return all;
  }();
  if (!is_narrow(t)) fail(ErrorKind::Internal, "narrow_values: ", dtype_name(t));
  return tables[static_cast<size_t>(t)].data();
}

uint8_t narrow_from_double(DType t, double v, const NarrowCast& how) {
  if (const Format* f = float_format(t)) {
    return static_cast<uint8_t>(encode(*f, v, how.saturate || t == DType::Float4E2M1));
  }
  if (t == DType::Float8E8M0) return static_cast<uint8_t>(encode_e8m0(v, how));
  if (!is_narrow_int(t)) fail(ErrorKind::Internal, "narrow_from_double: ", dtype_name(t));
  int64_t i = 0;
  if (!std::isnan(v)) {
    double lim = 9.2e18;  // inside int64 either way: only the low bits survive
    i = static_cast<int64_t>(std::fmax(-lim, std::fmin(lim, v)));
  }
  return narrow_wrap_int(t, i);
}

uint8_t narrow_wrap_int(DType t, int64_t v) {
  int bits = dtype_bits(t);
  uint64_t low = static_cast<uint64_t>(v) & ((1u << bits) - 1);
  if (narrow_int_min(t) < 0 && (low >> (bits - 1))) low |= ~uint64_t{0} << bits;  // sign
  return static_cast<uint8_t>(low);
}

void pack_narrow(DType t, const uint8_t* stored, int64_t n, uint8_t* packed) {
  int bits = dtype_bits(t);
  if (bits == 8) {
    if (n) std::memcpy(packed, stored, static_cast<size_t>(n));
    return;
  }
  int per_byte = 8 / bits;
  unsigned mask = (1u << bits) - 1;
  std::memset(packed, 0, dtype_file_bytes(t, n));
  for (int64_t i = 0; i < n; ++i) {
    packed[i / per_byte] |= static_cast<uint8_t>((stored[i] & mask) << (bits * (i % per_byte)));
  }
}

void unpack_narrow(DType t, const uint8_t* packed, int64_t n, uint8_t* stored) {
  int bits = dtype_bits(t);
  if (bits == 8) {
    if (n) std::memcpy(stored, packed, static_cast<size_t>(n));
    return;
  }
  int per_byte = 8 / bits;
  unsigned mask = (1u << bits) - 1;
  bool sign_extend = is_narrow_int(t) && narrow_int_min(t) < 0;
  for (int64_t i = 0; i < n; ++i) {
    unsigned v = (packed[i / per_byte] >> (bits * (i % per_byte))) & mask;
    if (sign_extend && (v >> (bits - 1))) v |= ~mask;
    stored[i] = static_cast<uint8_t>(v);
  }
}

}  // namespace onyx
