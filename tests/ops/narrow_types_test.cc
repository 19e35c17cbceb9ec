// The narrow element types: values, rounding and saturation as the Cast spec gives them, the
// packed file layout, and Cast / BitCast / QuantizeLinear through real graphs.
#include "onyx/core/narrow.h"

#include <gtest/gtest.h>

#include <cmath>

#include "onnx/onnx_pb.h"
#include "onyx/onnx/tensor_proto.h"
#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::run_model;
using testing::single_node_model;

constexpr DType kNarrowFloats[] = {DType::Float8E4M3FN,   DType::Float8E4M3FNUZ, DType::Float8E5M2,
                                   DType::Float8E5M2FNUZ, DType::Float4E2M1,     DType::Float8E8M0};

TEST(Narrow, EveryStoredByteSurvivesItsOwnValue) {
  for (DType t : kNarrowFloats) {
    int codes = dtype_bits(t) == 4 ? 16 : 256;
    for (int b = 0; b < codes; ++b) {
      float v = narrow_values(t)[b];
      uint8_t back = narrow_from_double(t, v, {false, RoundMode::Nearest});
      if (std::isnan(v)) {
        EXPECT_TRUE(std::isnan(narrow_values(t)[back])) << dtype_name(t) << " byte " << b;
      } else {
        EXPECT_EQ(narrow_values(t)[back], v) << dtype_name(t) << " byte " << b;
        if (v != 0.0f) {
          EXPECT_EQ(back, b) << dtype_name(t) << " value " << v;
        }
      }
    }
  }
}

TEST(Narrow, LargestValuesAndSpecialCodes) {
  EXPECT_EQ(narrow_values(DType::Float8E4M3FN)[0x7E], 448.0f);
  EXPECT_TRUE(std::isnan(narrow_values(DType::Float8E4M3FN)[0x7F]));
  EXPECT_EQ(narrow_values(DType::Float8E4M3FNUZ)[0x7F], 240.0f);
  EXPECT_TRUE(std::isnan(narrow_values(DType::Float8E4M3FNUZ)[0x80]));
  EXPECT_EQ(narrow_values(DType::Float8E5M2)[0x7B], 57344.0f);
  EXPECT_EQ(narrow_values(DType::Float8E5M2)[0x7C], INFINITY);
  EXPECT_EQ(narrow_values(DType::Float8E5M2FNUZ)[0x7F], 57344.0f);
  EXPECT_EQ(narrow_values(DType::Float4E2M1)[0x7], 6.0f);
  EXPECT_EQ(narrow_values(DType::Float4E2M1)[0xE], -4.0f);
  EXPECT_EQ(narrow_values(DType::Float8E8M0)[127], 1.0f);
  EXPECT_EQ(narrow_values(DType::Float8E8M0)[0], std::ldexp(1.0f, -127));
  EXPECT_EQ(narrow_values(DType::Float8E4M3FN)[1], std::ldexp(1.0f, -9)) << "smallest subnormal";
  EXPECT_EQ(narrow_values(DType::Int4)[0xF8], -8.0f);
  EXPECT_EQ(narrow_values(DType::UInt2)[3], 3.0f);
}

TEST(Narrow, RoundsHalfToEvenAndSaturatesAsTheSpecSays) {
  NarrowCast sat{true, RoundMode::Up}, nosat{false, RoundMode::Up};
  DType e4 = DType::Float8E4M3FN;
  EXPECT_EQ(narrow_from_double(e4, 464.0, nosat), 0x7E) << "a tie between 448 and 480: even";
  EXPECT_EQ(narrow_from_double(e4, 465.0, sat), 0x7E);
  EXPECT_TRUE(std::isnan(narrow_values(e4)[narrow_from_double(e4, 465.0, nosat)]));
  EXPECT_EQ(narrow_from_double(e4, -INFINITY, sat), 0xFE);
  EXPECT_EQ(narrow_from_double(e4, std::ldexp(1.0, -10), sat), 0x00) << "half the subnormal";
  EXPECT_EQ(narrow_from_double(e4, std::ldexp(3.0, -10), sat), 0x02) << "1.5 subnormals: even";
  EXPECT_EQ(narrow_from_double(e4, -0.0, sat), 0x80);
  EXPECT_EQ(narrow_from_double(DType::Float8E4M3FNUZ, -0.0, sat), 0x00) << "no negative zero";
  EXPECT_EQ(narrow_from_double(DType::Float8E4M3FNUZ, INFINITY, nosat), 0x80) << "NaN";
  EXPECT_EQ(narrow_from_double(DType::Float8E5M2, 1e6, nosat), 0x7C) << "infinity";
  EXPECT_EQ(narrow_from_double(DType::Float8E5M2, 1e6, sat), 0x7B);
  EXPECT_EQ(narrow_from_double(DType::Float4E2M1, -3.5), 0xE) << "tie between 3 and 4: even";
  EXPECT_EQ(narrow_from_double(DType::Float4E2M1, 0.25), 0x0);
  EXPECT_EQ(narrow_from_double(DType::Float4E2M1, 100.0, nosat), 0x7) << "always saturates";
  DType e8 = DType::Float8E8M0;
  EXPECT_EQ(narrow_from_double(e8, 3.0, {true, RoundMode::Up}), 129);
  EXPECT_EQ(narrow_from_double(e8, 3.0, {true, RoundMode::Down}), 128);
  EXPECT_EQ(narrow_from_double(e8, 3.0, {true, RoundMode::Nearest}), 129) << "ties round up";
  EXPECT_EQ(narrow_from_double(e8, 2.9, {true, RoundMode::Nearest}), 128);
  EXPECT_EQ(narrow_from_double(e8, 0.0, {true, RoundMode::Up}), 0);
  EXPECT_EQ(narrow_from_double(e8, 0.0, {false, RoundMode::Nearest}), 0xFF);
  EXPECT_EQ(narrow_from_double(e8, 1e300, {true, RoundMode::Up}), 0xFE);
}

TEST(Narrow, IntegersWrapToTheirWidth) {
  EXPECT_EQ(static_cast<int8_t>(narrow_wrap_int(DType::Int4, 9)), -7);
  EXPECT_EQ(static_cast<int8_t>(narrow_wrap_int(DType::Int4, -9)), 7);
  EXPECT_EQ(narrow_wrap_int(DType::UInt4, -1), 15);
  EXPECT_EQ(static_cast<int8_t>(narrow_wrap_int(DType::Int2, 2)), -2);
  EXPECT_EQ(narrow_wrap_int(DType::UInt2, 7), 3);
  EXPECT_EQ(static_cast<int8_t>(narrow_from_double(DType::Int4, -3.7)), -3) << "toward zero";
  EXPECT_EQ(narrow_from_double(DType::UInt4, NAN), 0);
}

TEST(Narrow, PacksTwoOrFourToAByteLowBitsFirst) {
  const int8_t int4[] = {7, -8, 1};
  uint8_t packed[2], back[3];
  ASSERT_EQ(dtype_file_bytes(DType::Int4, 3), 2u);
  pack_narrow(DType::Int4, reinterpret_cast<const uint8_t*>(int4), 3, packed);
  EXPECT_EQ(packed[0], 0x87);
  EXPECT_EQ(packed[1], 0x01);
  unpack_narrow(DType::Int4, packed, 3, back);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(static_cast<int8_t>(back[i]), int4[i]);
  const uint8_t uint2[] = {1, 2, 3, 0, 3};
  ASSERT_EQ(dtype_file_bytes(DType::UInt2, 5), 2u);
  pack_narrow(DType::UInt2, uint2, 5, packed);
  EXPECT_EQ(packed[0], 0x39);
  EXPECT_EQ(packed[1], 0x03);
}

TEST(Narrow, TensorProtosHoldPackedBytesInRawDataOrInt32Data) {
  onnx::TensorProto p;
  p.set_data_type(static_cast<int32_t>(DType::Int4));
  p.add_dims(5);
  for (int v : {16, 199, 8}) p.add_int32_data(v);  // one packed byte per int32
  Tensor t = onnx_io::tensor_from_proto(p, {});
  ASSERT_EQ(t.dtype(), DType::Int4);
  std::vector<double> values;
  for (int64_t i = 0; i < t.numel(); ++i) values.push_back(t.element_as_double(i));
  EXPECT_EQ(values, (std::vector<double>{0, 1, 7, -4, -8}));
  onnx::TensorProto out;
  onnx_io::tensor_to_proto(t, &out);
  EXPECT_EQ(out.raw_data(), std::string("\x10\xC7\x08", 3));
  Tensor again = onnx_io::tensor_from_proto(out, {});
  EXPECT_EQ(std::memcmp(again.raw_data(), t.raw_data(), 5), 0);
  out.set_raw_data(std::string("\x10\xC7", 2));
  try {
    onnx_io::tensor_from_proto(out, {"", "initializer 'w'"});
    FAIL() << "a short raw_data must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("raw_data has 2 bytes, shape [5] of int4 needs 3"),
              std::string::npos)
        << e.what();
  }
}

TEST(Narrow, CastBitCastAndQuantizeThroughGraphs) {
  Tensor x = Tensor::from_vector<float>({4}, {1.0f, 500.0f, -0.3f, NAN});
  auto cast = [&](int64_t to, int64_t saturate) {
    return run_model(single_node_model("Cast", 1, 1,
                                       {attr_int("to", to), attr_int("saturate", saturate)}, 25),
                     {x})[0]
        .tensor();
  };
  Tensor f8 = cast(17, 1);
  ASSERT_EQ(f8.dtype(), DType::Float8E4M3FN);
  EXPECT_EQ(f8.element_as_double(0), 1.0);
  EXPECT_EQ(f8.element_as_double(1), 448.0);
  EXPECT_EQ(f8.element_as_double(2), -0.3125) << "-0.3 rounded to 3 mantissa bits";
  EXPECT_TRUE(std::isnan(f8.element_as_double(3)));
  EXPECT_TRUE(std::isnan(cast(17, 0).element_as_double(1)));
  Tensor bits =
      run_model(single_node_model("BitCast", 1, 1, {attr_int("to", 2)}, 26), {f8})[0].tensor();
  EXPECT_EQ(bits.dtype(), DType::UInt8);
  EXPECT_EQ(bits.data<uint8_t>()[0], 0x38) << "1.0 in float8e4m3fn";
  Tensor i4 = cast(22, 1);
  Tensor u4 =
      run_model(single_node_model("BitCast", 1, 1, {attr_int("to", 21)}, 26), {i4})[0].tensor();
  EXPECT_EQ(u4.element_as_double(2), 0.0);
  EXPECT_THROW(run_model(single_node_model("BitCast", 1, 1, {attr_int("to", 2)}, 26), {i4}), Error)
      << "int4 -> uint8: the widths differ";

  Tensor w = Tensor::from_vector<float>({2, 4}, {0, 1, 2, 3, 40, 50, -60, 70});
  Tensor scale = Tensor::from_vector<float>({2, 2}, {1, 0.5f, 10, 20});  // blocks of 2 on axis 1
  Tensor zp = Tensor::empty(DType::Int4, {2, 2});
  std::memset(zp.raw_data(), 0, zp.nbytes());
  Tensor q = run_model(single_node_model("QuantizeLinear", 3, 1,
                                         {attr_int("axis", 1), attr_int("block_size", 2)}, 25),
                       {w, scale, zp})[0]
                 .tensor();
  ASSERT_EQ(q.dtype(), DType::Int4);
  std::vector<double> qs;
  for (int64_t i = 0; i < q.numel(); ++i) qs.push_back(q.element_as_double(i));
  EXPECT_EQ(qs, (std::vector<double>{0, 1, 4, 6, 4, 5, -3, 4}))
      << "2/0.5 and 3/0.5; 40/10, 50/10 (half to even: 5), -60/20, 70/20 = 3.5 -> 4";
  Tensor dq = run_model(single_node_model("DequantizeLinear", 3, 1,
                                          {attr_int("axis", 1), attr_int("block_size", 2)}, 25),
                        {q, scale, zp})[0]
                  .tensor();
  EXPECT_EQ(dq.to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 40, 50, -60, 80}));
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// The ops that move elements take the narrow types (their type constraints include them from
// opset 21): the values come through, the element type stays.
TEST(Narrow, MoveOpsKeepValuesAndType) {
  Tensor x = Tensor::empty(DType::Int4, {2, 3});
  const int8_t values[] = {-8, -1, 0, 3, 7, 5};
  std::memcpy(x.raw_data(), values, 6);
  auto values_of = [](const Tensor& t) {
    std::vector<double> v;
    for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.element_as_double(i));
    return v;
  };
  auto run1 = [&](const std::string& op, std::vector<Tensor> in, std::vector<ir::Attribute> a) {
    Tensor y = run_model(single_node_model(op, in.size(), 1, std::move(a), 23), in)[0].tensor();
    EXPECT_EQ(y.dtype(), DType::Int4) << op;
    return values_of(y);
  };
  auto i64 = [](std::vector<int64_t> v) {
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  };
  EXPECT_EQ(run1("Transpose", {x}, {}), (std::vector<double>{-8, 3, -1, 7, 0, 5}));
  EXPECT_EQ(run1("Reshape", {x, i64({3, 2})}, {}), values_of(x));
  EXPECT_EQ(run1("Identity", {x}, {}), values_of(x));
  EXPECT_EQ(run1("Flatten", {x}, {attr_int("axis", 0)}), values_of(x));
  EXPECT_EQ(run1("Unsqueeze", {x, i64({0})}, {}), values_of(x));
  EXPECT_EQ(run1("Concat", {x, x}, {attr_int("axis", 0)}),
            (std::vector<double>{-8, -1, 0, 3, 7, 5, -8, -1, 0, 3, 7, 5}));
  EXPECT_EQ(run1("Slice", {x, i64({1}), i64({3}), i64({1})}, {}),
            (std::vector<double>{-1, 0, 7, 5}));
  EXPECT_EQ(run1("Gather", {x, i64({1})}, {attr_int("axis", 0)}), (std::vector<double>{3, 7, 5}));
  EXPECT_EQ(run1("Pad", {x, i64({0, 1, 0, 0})}, {}),
            (std::vector<double>{0, -8, -1, 0, 0, 3, 7, 5}));
  Tensor f8 = Tensor::empty(DType::Float8E5M2, {2});
  f8.data<uint8_t>()[0] = narrow_from_double(DType::Float8E5M2, 1.5);
  f8.data<uint8_t>()[1] = narrow_from_double(DType::Float8E5M2, -0.25);
  Tensor y = run_model(single_node_model("Transpose", 1, 1, {}, 23), {f8})[0].tensor();
  EXPECT_EQ(y.dtype(), DType::Float8E5M2);
  EXPECT_EQ(values_of(y), (std::vector<double>{1.5, -0.25}));
  Tensor shape = run_model(single_node_model("Shape", 1, 1, {}, 23), {x})[0].tensor();
  EXPECT_EQ(shape.to_vector<int64_t>(), (std::vector<int64_t>{2, 3}));
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// Strings become numbers only when the whole text is one: trailing garbage is an error, not
// silently dropped; "100.5" to an integer truncates, as the spec allows.
TEST(Narrow, CastFromStringReadsTheWholeText) {
  auto cast = [](std::vector<std::string> s, int64_t to) {
    Tensor x = Tensor::from_vector<std::string>({static_cast<int64_t>(s.size())}, s);
    return run_model(single_node_model("Cast", 1, 1, {attr_int("to", to)}, 21), {x})[0].tensor();
  };
  EXPECT_EQ(cast({"3", " 7 ", "100.5", "-2e2"}, 7).to_vector<int64_t>(),
            (std::vector<int64_t>{3, 7, 100, -200}));
  EXPECT_EQ(cast({"1.5", "INF", "-inf"}, 1).to_vector<float>(),
            (std::vector<float>{1.5f, INFINITY, -INFINITY}));
  EXPECT_TRUE(std::isnan(cast({"NaN"}, 1).to_vector<float>()[0]));
  EXPECT_THROW(cast({"3abc"}, 7), Error);
  EXPECT_THROW(cast({"1.5x"}, 1), Error);
  EXPECT_THROW(cast({"nan"}, 7), Error) << "no integer is NaN";
}

}  // namespace
}  // namespace onyx
