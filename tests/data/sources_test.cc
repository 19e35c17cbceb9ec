// Datasets of named feeds, and the NumPy and CSV sources on files the tests write: .npz
// archives from Debian's python3-numpy (np.savez and np.savez_compressed), .npy
// directories and CSV tables written here, and broken ones of each.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <initializer_list>

#include "../temp_dir.h"
#include "onyx/core/file_util.h"
#include "onyx/data/sources.h"
#include "onyx/onnx/value_files.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;

// Runs `f`, which must throw an onyx::Error of `kind` whose message holds all of `parts`.
template <typename F>
void expect_error(F&& f, ErrorKind kind, std::initializer_list<std::string> parts) {
  EXPECT_THROW(
      {
        try {
          f();
        } catch (const Error& e) {
          EXPECT_EQ(e.kind(), kind) << e.what();
          for (const auto& p : parts) {
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
                << "'" << p << "' is not in: " << e.what();
          }
          throw;
        }
      },
      Error);
}

class Sources : public testing::TempDirTest {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    std::string p = (dir_ / name).string();
    write_file_atomic(p, bytes);
    return p;
  }
};

TEST_F(Sources, DatasetFeedsRowsAndSubsets) {
  data::Dataset d("src");
  d.add("x", Tensor::from_vector<float>({3, 2}, {0, 1, 10, 11, 20, 21}));
  d.add("y", Tensor::from_vector<int64_t>({3}, {5, 6, 7}));
  d.add("s", Tensor::from_vector<std::string>({3}, {"a", "b", "c"}));
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.at("y").to_vector<int64_t>(), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(d.find("z"), nullptr);

  std::vector<data::Feed> rows = d.rows({2, 0, 2});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "x");
  EXPECT_EQ(rows[0].value.shape(), (Shape{3, 2}));
  EXPECT_EQ(rows[0].value.to_vector<float>(), (std::vector<float>{20, 21, 0, 1, 20, 21}));
  EXPECT_EQ(rows[1].value.dtype(), DType::Int64);
  EXPECT_EQ(rows[1].value.to_vector<int64_t>(), (std::vector<int64_t>{7, 5, 7}));
  EXPECT_EQ(rows[2].value.to_vector<std::string>(), (std::vector<std::string>{"c", "a", "c"}));

  data::Dataset val = d.subset({1}, "src (validation)");
  EXPECT_EQ(val.size(), 1);
  EXPECT_EQ(val.source(), "src (validation)");
  EXPECT_EQ(val.at("x").to_vector<float>(), (std::vector<float>{10, 11}));
  EXPECT_EQ(d.subset({}, "none").at("y").shape(), (Shape{0}));

  d.rename("y", "labels");
  EXPECT_EQ(d.find("y"), nullptr);
  EXPECT_EQ(d.feeds()[1].name, "labels");
  d.set("labels", Tensor::from_vector<int64_t>({3}, {1, 2, 3}));
  EXPECT_EQ(d.at("labels").to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(Sources, DatasetErrorsNameTheSourceAndFeeds) {
  data::Dataset d("data.npz");
  d.add("x", Tensor::zeros(DType::Float32, {10, 4}));
  d.add("w", Tensor::zeros(DType::UInt8, {10}));
  using K = ErrorKind;
  expect_error([&] { d.add("y", Tensor::zeros(DType::Int64, {12})); }, K::InvalidArgument,
               {"data.npz: feed 'x' has 10 samples, feed 'y' has 12"});
  expect_error([&] { d.add("x", Tensor::zeros(DType::Float32, {10})); }, K::InvalidArgument,
               {"two feeds named 'x'"});
  expect_error([&] { d.add("s", Tensor::scalar<float>(1)); }, K::InvalidArgument,
               {"feed 's' is a scalar"});
  expect_error([&] { d.at("labels"); }, K::InvalidArgument,
               {"data.npz: no feed 'labels'", "the feeds are: x, w"});
  expect_error(
      [&] {
        d.set("x", Tensor::zeros(DType::Float32, {9, 4}));
      },
      K::InvalidArgument, {"feed 'x' has 10 samples, its replacement has 9"});
  expect_error([&] { d.set("q", Tensor::zeros(DType::Float32, {10})); }, K::InvalidArgument,
               {"no feed 'q'"});
  expect_error([&] { d.rename("x", "w"); }, K::InvalidArgument,
               {"cannot rename feed 'x' to 'w': that name is taken"});
  expect_error([&] { d.rename("nope", "z"); }, K::InvalidArgument, {"no feed 'nope'"});
  expect_error(
      [&] {
        d.rows({0, 10});
      },
      K::InvalidArgument, {"sample 10 is out of range for 10 samples"});
  expect_error([&] { d.rows({-1}); }, K::InvalidArgument, {"sample -1 is out of range"});
}

// Archives made by NumPy itself, and a few it would never make.
const char kMakeNpz[] = R"(import io, sys, zipfile
import numpy as np
d = sys.argv[1]
arrays = dict(x=np.array([[1.5, -2], [3, 4], [5, 6.25]], np.float32),
              y=np.array([7, -8, 2**40], np.int64),
              m=np.array([0, 128, 255], np.uint8),
              cube=(np.arange(12, dtype=np.float32) / 4).reshape(3, 2, 2))
np.savez(d + "/plain.npz", **arrays)
np.savez_compressed(d + "/packed.npz", **arrays)
np.savez(d + "/ragged.npz", a=np.zeros((10, 2), np.float32), b=np.zeros(12, np.int64))
one = io.BytesIO()
np.save(one, np.zeros(3, np.float32))
with zipfile.ZipFile(d + "/notes.npz", "w") as z:
    z.writestr("a.npy", one.getvalue())
    z.writestr("readme.txt", "not an array")
with zipfile.ZipFile(d + "/junk.npz", "w") as z:
    z.writestr("x.npy", "junk")
)";

class Npz : public Sources {
 protected:
  void SetUp() override {
    Sources::SetUp();
    std::string script = write("make.py", kMakeNpz);
    // A fixed command on paths this test made: no user text reaches the shell.
    std::string command = "/usr/bin/python3 '" + script + "' '" + dir_.string() + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command << " (needs python3-numpy)";
  }
};

TEST_F(Npz, StoredAndDeflatedArchivesAsNumpyWritesThem) {
  // The first member's local header says how it is packed: 0 stored, 8 deflated.
  EXPECT_EQ(read_file(path("plain.npz"))[8], 0);
  EXPECT_EQ(read_file(path("packed.npz"))[8], 8);
  for (const char* name : {"plain.npz", "packed.npz"}) {
    SCOPED_TRACE(name);
    data::Dataset d = data::load_npz(path(name));
    EXPECT_EQ(d.source(), path(name));
    EXPECT_EQ(d.size(), 3);
    ASSERT_EQ(d.feeds().size(), 4u);
    EXPECT_EQ(d.feeds()[0].name, "x");  // in the archive's order
    EXPECT_EQ(d.feeds()[3].name, "cube");
    EXPECT_EQ(d.at("x").dtype(), DType::Float32);
    EXPECT_EQ(d.at("x").to_vector<float>(), (std::vector<float>{1.5, -2, 3, 4, 5, 6.25}));
    EXPECT_EQ(d.at("y").to_vector<int64_t>(), (std::vector<int64_t>{7, -8, int64_t{1} << 40}));
    EXPECT_EQ(d.at("m").to_vector<uint8_t>(), (std::vector<uint8_t>{0, 128, 255}));
    const Tensor& cube = d.at("cube");
    EXPECT_EQ(cube.shape(), (Shape{3, 2, 2}));
    EXPECT_EQ(cube.data<float>()[0], 0.0f);
    EXPECT_EQ(cube.data<float>()[11], 2.75f);
  }
}

TEST_F(Npz, BrokenArchivesSayWhichFileAndMember) {
  using K = ErrorKind;
  std::string ragged = path("ragged.npz");
  expect_error([&] { data::load_npz(ragged); }, K::InvalidArgument,
               {ragged + ": feed 'a' has 10 samples, feed 'b' has 12"});
  expect_error([&] { data::load_npz(path("notes.npz")); }, K::InvalidArgument,
               {path("notes.npz") + ": member 'readme.txt' is not an .npy array"});
  expect_error([&] { data::load_npz(path("junk.npz")); }, K::InvalidArgument,
               {path("junk.npz") + ":x.npy: not a .npy file"});
  std::string text = write("text.npz", "x,y\n1,2\n");
  expect_error([&] { data::load_npz(text); }, K::InvalidArgument,
               {text, "cannot open as an .npz archive", "Not a zip archive"});
  expect_error([&] { data::load_npz(path("missing.npz")); }, K::Io, {path("missing.npz")});
  // A stored member whose bytes no longer match its CRC.
  std::string bytes = read_file(path("plain.npz"));
  size_t data_start = 30 + uint8_t(bytes[26]) + 256 * uint8_t(bytes[27]) + uint8_t(bytes[28]) +
                      256 * uint8_t(bytes[29]);
  bytes[data_start + 130] ^= 0x40;  // inside x's elements, past its .npy header
  std::string bad = write("bad.npz", bytes);
  expect_error([&] { data::load_npz(bad); }, K::InvalidArgument, {bad + ":x.npy", "CRC"});
}

TEST_F(Sources, NpyDirectoryOneFeedPerFileSortedByName) {
  fs::create_directories(dir_ / "npys");
  onnx_io::save_npy(Tensor::from_vector<int64_t>({2}, {4, 9}), path("npys/labels.npy"));
  onnx_io::save_npy(Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6}),
                    path("npys/images.npy"));
  write("npys/README", "not an array");
  data::Dataset d = data::load_npy_dir(path("npys"));
  ASSERT_EQ(d.feeds().size(), 2u);
  EXPECT_EQ(d.feeds()[0].name, "images");
  EXPECT_EQ(d.feeds()[1].name, "labels");
  EXPECT_EQ(d.at("images").to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(d.at("labels").to_vector<int64_t>(), (std::vector<int64_t>{4, 9}));

  fs::create_directories(dir_ / "empty");
  expect_error([&] { data::load_npy_dir(path("empty")); }, ErrorKind::InvalidArgument,
               {path("empty"), "no .npy files"});
  expect_error([&] { data::load_npy_dir(path("nowhere")); }, ErrorKind::Io,
               {path("nowhere"), "not a directory"});
}

TEST_F(Sources, CsvQuotedFieldsCrlfAndTargetInTheMiddle) {
  std::string csv = write("t.csv",
                          "\"a, first\" ,label,\"b \"\"2\"\"\"\r\n"
                          "1.5, 0 ,\"-2\"\r\n"
                          "+3,1,4e2\r\n"
                          "\r\n\r\n");
  data::Dataset d = data::load_csv(csv);
  EXPECT_EQ(d.size(), 2);
  EXPECT_EQ(d.at("features").shape(), (Shape{2, 2}));
  EXPECT_EQ(d.at("features").to_vector<float>(), (std::vector<float>{1.5, -2, 3, 400}));
  EXPECT_EQ(d.at("labels").dtype(), DType::Float32);
  EXPECT_EQ(d.at("labels").to_vector<float>(), (std::vector<float>{0, 1}));

  // The header names as parsed: a comma and doubled quotes inside quotes.
  expect_error([&] { data::load_csv(csv, {.target = "y"}); }, ErrorKind::InvalidArgument,
               {csv + ": no target column 'y'", "'a, first', 'label', 'b \"2\"'"});
  data::Dataset named = data::load_csv(csv, {.target = "a, first", .features = "x", .labels = "t"});
  EXPECT_EQ(named.at("x").to_vector<float>(), (std::vector<float>{0, -2, 1, 400}));
  EXPECT_EQ(named.at("t").to_vector<float>(), (std::vector<float>{1.5, 3}));
}

TEST_F(Sources, CsvErrorsNameTheLineAndColumn) {
  using K = ErrorKind;
  auto fails = [&](const std::string& text, std::initializer_list<std::string> parts) {
    std::string p = write("bad.csv", text);
    expect_error([&] { data::load_csv(p); }, K::InvalidArgument, parts);
  };
  std::string p = path("bad.csv");
  fails("a,label\n1,2\n3,abc\n", {p + ":3: column 'label' holds 'abc', not a number"});
  fails("a,label\n1,2\n3x,4\n", {p + ":3: column 'a' holds '3x', not a number"});
  fails("a,label\n1,\n", {p + ":2: column 'label' is empty"});
  fails("a,label\n1,2\n\n1,2\n", {p + ":3: empty line"});
  fails("a,label\n1,2\n1,2,3\n", {p + ":3: 3 cells, but the header has 2 columns"});
  fails("a,label\n", {p + ": no data rows"});
  fails("label\n1\n", {p + ": only the target column 'label', no feature columns"});
  fails("a,label\n\"1,2\n", {p + ":2: a quoted field never ends"});
  fails("", {p + ": empty file"});
  expect_error([&] { data::load_csv(path("missing.csv")); }, K::Io,
               {"cannot open", path("missing.csv")});
}

}  // namespace
}  // namespace onyx
