// A small synthetic dataset in MNIST's IDX layout, for the training tests: 8x8 images of
// 4 classes, class k lighting a 3x3 block in corner k over noise.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "onyx/core/file_util.h"

namespace onyx::testing {

inline std::string idx_header(uint8_t rank, std::vector<uint32_t> dims) {
  std::string h{0, 0, 0x08, static_cast<char>(rank)};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) h += static_cast<char>((d >> s) & 0xff);
  }
  return h;
}

// Writes DIR/PREFIX-images-idx3-ubyte and DIR/PREFIX-labels-idx1-ubyte with n examples.
inline void write_split(const std::filesystem::path& dir, const std::string& prefix, uint32_t n,
                        uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 90), label(0, 3);
  std::string images = idx_header(3, {n, 8, 8}), labels = idx_header(1, {n});
  for (uint32_t i = 0; i < n; ++i) {
    int k = label(rng);
    labels += static_cast<char>(k);
    for (int r = 0; r < 8; ++r) {
      for (int c = 0; c < 8; ++c) {
        bool lit = (k / 2 ? r >= 5 : r < 3) && (k % 2 ? c >= 5 : c < 3);
        images += static_cast<char>(lit ? 200 + noise(rng) / 2 : noise(rng));
      }
    }
  }
  write_file_atomic((dir / (prefix + "-images-idx3-ubyte")).string(), images);
  write_file_atomic((dir / (prefix + "-labels-idx1-ubyte")).string(), labels);
}

}  // namespace onyx::testing
