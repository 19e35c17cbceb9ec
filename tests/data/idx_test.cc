// IDX reading on Debian's Fashion-MNIST and on hand-made files (every element type, gzip,
// corruption), and seeded batching.
#include "onyx/data/idx.h"
#include "../temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <numeric>
#include <set>

#include "onyx/core/file_util.h"
#include "onyx/data/batches.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;
const std::string kFashion = "/usr/share/datasets/fashion-mnist";

std::string header(uint8_t type, std::vector<uint32_t> dims) {
  std::string h{0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) h += static_cast<char>((d >> s) & 0xff);
  }
  return h;
}

class Idx : public testing::TempDirTest {
 protected:
  std::string write(const std::string& name, const std::string& bytes, bool gz = false) {
    std::string p = (dir_ / name).string();
    if (!gz) {
      write_file_atomic(p, bytes);
    } else {
      gzFile f = gzopen(p.c_str(), "wb");
      gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
      gzclose(f);
    }
    return p;
  }
};

TEST_F(Idx, FashionMnistAsDebianShipsIt) {
  data::Dataset train = data::load_mnist(kFashion, "train");
  data::Dataset test = data::load_mnist(kFashion, "test");
  const Tensor& images = train.at("images");
  const Tensor& labels = train.at("labels");
  EXPECT_EQ(images.shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_EQ(test.at("images").shape(), (Shape{10000, 1, 28, 28}));
  // Balanced classes: 6000 per class in train, 1000 in test.
  std::vector<int64_t> count(10, 0);
  for (int64_t i = 0; i < train.size(); ++i) ++count.at(labels.data<int64_t>()[i]);
  EXPECT_EQ(count, std::vector<int64_t>(10, 6000));
  EXPECT_EQ(labels.data<int64_t>()[0], 9);  // the first image is an ankle boot
  float lo = 1, hi = 0;
  for (int64_t i = 0; i < 28 * 28; ++i) {
    lo = std::min(lo, images.data<float>()[i]);
    hi = std::max(hi, images.data<float>()[i]);
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
}

TEST_F(Idx, ElementTypesPlainAndGzip) {
  // int16 [3], big-endian: 0, 256, 32767.
  std::string file = header(0x0B, {3}) + std::string{0, 0, 1, 0, 0x7f, static_cast<char>(0xff)};
  for (bool gz : {false, true}) {
    Tensor t = data::read_idx(write(gz ? "a.gz" : "a", file, gz));
    ASSERT_EQ(t.dtype(), DType::Int16);
    EXPECT_EQ(t.to_int64s(), (std::vector<int64_t>{0, 256, 32767}));
  }
  float v = -1.5f;
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  std::string f32 = header(0x0D, {1, 1});
  for (int s = 24; s >= 0; s -= 8) f32 += static_cast<char>((bits >> s) & 0xff);
  Tensor t = data::read_idx(write("f", f32));
  EXPECT_EQ(t.shape(), (Shape{1, 1}));
  EXPECT_EQ(t.data<float>()[0], -1.5f);
}

// Sizes come from the header, checked before anything is allocated or inflated: a small
// gzip file cannot make the reader allocate what its header promises.
TEST_F(Idx, HeadersPromisingTooMuchAreRefusedFirst) {
  std::string huge = header(0x0D, {60000, 60000, 60000}) + std::string(1 << 20, 0);
  for (bool gz : {false, true}) {
    try {
      data::read_idx(write(gz ? "huge.gz" : "huge", huge, gz));
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::ResourceLimit);
      EXPECT_NE(std::string(e.what()).find("huge"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("promises more than"), std::string::npos) << e.what();
    }
  }
  // A limit of its own, and the same reader over bytes in memory.
  std::string small = header(0x08, {2, 3}) + std::string{1, 2, 3, 4, 5, 6};
  EXPECT_THROW(data::parse_idx(small, "small", 5), Error);
  Tensor t = data::parse_idx(small, "small", 6);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.to_int64s(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(data::read_idx(write("small", small)).to_int64s(), t.to_int64s());
}

TEST_F(Idx, CorruptFilesSayWhatIsWrong) {
  auto message = [](const std::string& path) {
    try {
      data::read_idx(path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string bad = write("bad", "GIF89a....");
  EXPECT_NE(message(bad).find("bad magic number"), std::string::npos) << message(bad);
  std::string cut = write("cut", header(0x08, {10, 28, 28}) + std::string(100, 0));
  EXPECT_NE(message(cut).find("truncated"), std::string::npos) << message(cut);
  EXPECT_NE(message(cut).find("cut"), std::string::npos) << "names the file";
  std::string type = write("type", header(0x42, {1}) + "x");
  EXPECT_NE(message(type).find("unknown IDX element type"), std::string::npos) << message(type);
  EXPECT_NE(message((dir_ / "missing").string()).find("cannot open"), std::string::npos);

  // A directory whose image and label counts differ.
  write("train-images-idx3-ubyte", header(0x08, {3, 2, 2}) + std::string(12, 1));
  write("train-labels-idx1-ubyte", header(0x08, {2}) + std::string(2, 1));
  try {
    data::load_mnist(dir_.string(), "train");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 images but 2 labels"), std::string::npos) << e.what();
  }
}

TEST_F(Idx, EmnistNamesAndAmbiguity) {
  auto split = [&](const std::string& images, const std::string& labels, uint32_t n, bool gz) {
    write(images, header(0x08, {n, 2, 2}) + std::string(4 * n, 7), gz);
    write(labels, header(0x08, {n}) + std::string(n, 3), gz);
  };
  split("emnist-letters-train-images-idx3-ubyte.gz", "emnist-letters-train-labels-idx1-ubyte.gz", 5,
        true);
  split("emnist-letters-test-images-idx3-ubyte", "emnist-letters-test-labels-idx1-ubyte", 2, false);
  EXPECT_EQ(data::load_mnist(dir_.string(), "train").size(), 5);
  EXPECT_EQ(data::load_mnist(dir_.string(), "test").size(), 2);
  // A second training set in the same directory: which one is meant is not guessed.
  split("emnist-digits-train-images-idx3-ubyte", "emnist-digits-train-labels-idx1-ubyte", 3, false);
  try {
    data::load_mnist(dir_.string(), "train");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("several train-images-idx3-ubyte files"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(Idx, SeededBatchesCoverEveryExampleAndResume) {
  Tensor images = Tensor::empty(DType::Float32, {10, 1, 1, 2});
  Tensor labels = Tensor::empty(DType::Int64, {10});
  for (int64_t i = 0; i < 10; ++i) {
    images.data<float>()[2 * i] = static_cast<float>(i);
    images.data<float>()[2 * i + 1] = static_cast<float>(-i);
    labels.data<int64_t>()[i] = i;
  }
  data::Dataset d("mem");
  d.add("images", images);
  d.add("labels", labels);
  data::Batches a(d, {4, 42}), b(d, {4, 42});
  EXPECT_EQ(a.batches_per_epoch(), 3);
  a.begin_epoch();
  b.begin_epoch();
  std::set<int64_t> seen;
  std::vector<int64_t> order;
  for (int64_t k = 0; k < 3; ++k) {
    std::vector<data::Feed> batch = a.batch(k);
    ASSERT_EQ(batch.size(), 2u);
    ASSERT_EQ(batch[0].name, "images");
    const Tensor& x = batch[0].value;
    const Tensor& y = batch[1].value;
    EXPECT_EQ(x.dim(0), k < 2 ? 4 : 2);
    for (int64_t i = 0; i < y.numel(); ++i) {
      int64_t label = y.data<int64_t>()[i];
      EXPECT_EQ(x.data<float>()[2 * i], static_cast<float>(label)) << "images follow labels";
      seen.insert(label);
      order.push_back(label);
    }
    EXPECT_EQ(b.batch(k)[1].value.to_vector<int64_t>(), y.to_vector<int64_t>()) << "same seed";
  }
  EXPECT_EQ(seen.size(), 10u);
  std::vector<int64_t> identity(10);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_NE(order, identity) << "shuffled";
  // A saved generator state replays the next epoch exactly.
  std::string saved = a.state();
  a.begin_epoch();
  data::Batches c(d, {4, 0});
  c.set_state(saved, "saved");
  c.begin_epoch();
  EXPECT_EQ(c.batch(0)[1].value.to_vector<int64_t>(), a.batch(0)[1].value.to_vector<int64_t>());
}

TEST_F(Idx, DropLastAndValidationSplit) {
  Tensor x = Tensor::from_vector<float>({10, 1}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  data::Dataset d("mem");
  d.add("x", x);
  data::Batches kept(d, {4, 1, true, true});
  EXPECT_EQ(kept.batches_per_epoch(), 2);  // 4 + 4; the last 2 are dropped
  kept.begin_epoch();
  EXPECT_EQ(kept.batch(1)[0].value.dim(0), 4);
  EXPECT_THROW(kept.batch(2), Error);
  EXPECT_THROW(data::Batches(d, {11, 1, true, true}), Error);

  auto [train, val] = data::random_split(d, 0.3, 7);
  EXPECT_EQ(train.size(), 7);
  EXPECT_EQ(val.size(), 3);
  std::set<float> all;
  for (const auto* part : {&train, &val}) {
    for (float v : part->at("x").to_vector<float>()) all.insert(v);
  }
  EXPECT_EQ(all.size(), 10u) << "the split is a partition";
  auto [train2, val2] = data::random_split(d, 0.3, 7);
  EXPECT_EQ(val2.at("x").to_vector<float>(), val.at("x").to_vector<float>()) << "seeded";
  auto [train3, val3] = data::random_split(d, 0.3, 8);
  EXPECT_NE(val3.at("x").to_vector<float>(), val.at("x").to_vector<float>()) << "by the seed";
  EXPECT_THROW(data::random_split(d, 0, 7), Error);
  EXPECT_THROW(data::random_split(d, 1.5, 7), Error);
}

}  // namespace
}  // namespace onyx
