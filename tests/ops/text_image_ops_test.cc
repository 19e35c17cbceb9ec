// StringSplit, RegexFullMatch and ImageDecoder (opset 20) on the cases the backend suite
// leaves out: Python's str.split edge cases, RE2 errors, every PNM kind, a WebP round trip,
// pixel formats and undecodable streams.
#include <gtest/gtest.h>
#include <webp/encode.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::attr_string;
using testing::run_model;
using testing::single_node_model;

using Strings = std::vector<std::string>;

// StringSplit's Y and Z for one string.
std::pair<Strings, int64_t> split(const std::string& s, std::vector<ir::Attribute> attrs) {
  Tensor x = Tensor::from_vector<std::string>({1}, {s});
  auto out = run_model(single_node_model("StringSplit", 1, 2, std::move(attrs), 20), {x});
  return {out[0].tensor().to_vector<std::string>(), out[1].tensor().data<int64_t>()[0]};
}

TEST(TextOps, StringSplitIsPythonsStrSplit) {
  using P = std::pair<Strings, int64_t>;
  EXPECT_EQ(split("  a  b ", {}), (P{{"a", "b"}, 2}));
  EXPECT_EQ(split("  a  b ", {attr_int("maxsplit", 0)}), (P{{"a  b "}, 1}))
      << "no splits: leading whitespace goes, trailing stays";
  EXPECT_EQ(split("a b  c  ", {attr_int("maxsplit", 1)}), (P{{"a", "b  c  "}, 2}));
  EXPECT_EQ(split("a\u3000b\u00a0c\x1f"
                  "d",
                  {}),
            (P{{"a", "b", "c", "d"}, 4}))
      << "Unicode whitespace";
  EXPECT_EQ(split("é b", {}), (P{{"é", "b"}, 2})) << "U+00E9 (C3 A9) is not whitespace";
  EXPECT_EQ(split(" \t\n", {}), (P{{}, 0}));
  EXPECT_EQ(split("", {attr_string("delimiter", "-")}), (P{{""}, 1}));
  EXPECT_EQ(split("a--b--", {attr_string("delimiter", "--")}), (P{{"a", "b", ""}, 3}));
  EXPECT_EQ(split("a-b-c", {attr_string("delimiter", "-"), attr_int("maxsplit", -1)}),
            (P{{"a", "b", "c"}, 3}))
      << "negative maxsplit: no limit, as Python";

  Tensor scalar = Tensor::from_vector<std::string>({}, {"x y"});
  auto out = run_model(single_node_model("StringSplit", 1, 2, {}, 20), {scalar});
  EXPECT_EQ(out[0].tensor().shape(), (Shape{2}));
  EXPECT_EQ(out[1].tensor().shape(), (Shape{}));
  Tensor none = Tensor::from_vector<std::string>({2, 0}, {});
  out = run_model(single_node_model("StringSplit", 1, 2, {}, 20), {none});
  EXPECT_EQ(out[0].tensor().shape(), (Shape{2, 0, 0}));
}

TEST(TextOps, RegexFullMatchWholeStringsAndBadPatterns) {
  Tensor x = Tensor::from_vector<std::string>({4}, {"abc", "abcd", "", "ab"});
  auto match = [&](const std::string& pattern) {
    auto m = single_node_model("RegexFullMatch", 1, 1, {attr_string("pattern", pattern)}, 20);
    return run_model(std::move(m), {x})[0].tensor().to_vector<bool>();
  };
  EXPECT_EQ(match("ab."), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(match("a?b?c?"), (std::vector<bool>{true, false, true, true}));
  try {
    match("a(b");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidModel);
    EXPECT_NE(std::string(e.what()).find("'a(b'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing )"), std::string::npos) << e.what();
  }
}

Tensor bytes_tensor(const std::string& s) {
  std::vector<uint8_t> v(s.begin(), s.end());
  return Tensor::from_vector<uint8_t>({static_cast<int64_t>(v.size())}, v);
}

// ImageDecoder's output as "[H,W,C] v v v ...".
std::string decode(const std::string& bytes, const std::string& format = "RGB") {
  auto m = single_node_model("ImageDecoder", 1, 1, {attr_string("pixel_format", format)}, 20);
  Tensor t = run_model(std::move(m), {bytes_tensor(bytes)})[0].tensor();
  std::string s = shape_str(t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) s += " " + std::to_string(t.data<uint8_t>()[i]);
  return s;
}

TEST(ImageOps, PnmKinds) {
  EXPECT_EQ(decode("P3\n2 1\n255\n10 20 30 200 100 0\n"), "[1,2,3] 10 20 30 200 100 0");
  EXPECT_EQ(decode(std::string("P6 1 1 255\n") + "\x0a\x14\x1e"), "[1,1,3] 10 20 30");
  EXPECT_EQ(decode("P2 2 1 100 30 50", "Grayscale"), "[1,2,1] 76 128")
      << "76.5 and 127.5 rounded half to even, as PIL";
  EXPECT_EQ(decode(std::string("P5 1 1 65535\n") + "\xff\xff", "Grayscale"), "[1,1,1] 255");
  EXPECT_EQ(decode("P1 3 1 101", "Grayscale"), "[1,3,1] 0 255 0") << "1 is black";
  EXPECT_EQ(decode(std::string("P4 3 1\n") + "\x40", "Grayscale"), "[1,3,1] 255 0 255");
  EXPECT_EQ(decode("P2 2 1 255 7 9"), "[1,2,3] 7 7 7 9 9 9") << "grey repeated";
}

TEST(ImageOps, PixelFormatsAndWebp) {
  const uint8_t rgb[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30};
  uint8_t* encoded = nullptr;
  size_t n = WebPEncodeLosslessRGB(rgb, 2, 2, 6, &encoded);
  ASSERT_GT(n, 0u);
  std::string webp(reinterpret_cast<const char*>(encoded), n);
  WebPFree(encoded);
  EXPECT_EQ(decode(webp), "[2,2,3] 255 0 0 0 255 0 0 0 255 10 200 30");
  EXPECT_EQ(decode(webp, "BGR"), "[2,2,3] 0 0 255 0 255 0 255 0 0 30 200 10");
  // PIL's fixed-point luma: (r*19595 + g*38470 + b*7471 + 32768) >> 16.
  EXPECT_EQ(decode(webp, "Grayscale"), "[2,2,1] 76 150 29 124");
}

TEST(ImageOps, UndecodableStreamsGiveAnEmptyImage) {
  EXPECT_EQ(decode("not an image"), "[0,0,3]");
  EXPECT_EQ(decode("\x89PNG\r\n\x1a\n\x00", "Grayscale"), "[0,0,1]") << "cut PNG";
  EXPECT_EQ(decode("P6 2 2 255\n\x01"), "[0,0,3]") << "truncated PPM";
  EXPECT_EQ(decode(""), "[0,0,3]");
  auto bad = single_node_model("ImageDecoder", 1, 1, {attr_string("pixel_format", "YUV")}, 20);
  EXPECT_THROW(run_model(std::move(bad), {bytes_tensor("P2 1 1 255 0")}), Error);
  Tensor two_d = Tensor::from_vector<uint8_t>({1, 2}, {1, 2});
  EXPECT_THROW(run_model(single_node_model("ImageDecoder", 1, 1, {}, 20), {two_d}), Error);
}

}  // namespace
}  // namespace onyx
