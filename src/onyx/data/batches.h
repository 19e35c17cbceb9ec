// Seeded shuffled mini-batches over a dataset, with a generator state that can be saved
// and restored (so a resumed training run sees the same batches).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "onyx/data/idx.h"

namespace onyx::data {

class Batches {
 public:
  // `shuffle`: a new permutation per epoch from the generator, else the file's order.
  Batches(const Dataset& data, int64_t batch_size, uint64_t seed, bool shuffle = true);

  int64_t batches_per_epoch() const;
  // Starts an epoch (draws its permutation).
  void begin_epoch();
  // Batch b of the current epoch (the last one may be smaller): images and labels.
  std::pair<Tensor, Tensor> batch(int64_t b) const;

  // The generator's state as text, and back.
  std::string state() const;
  void set_state(const std::string& s);

 private:
  const Dataset& data_;
  int64_t batch_size_;
  bool shuffle_;
  std::mt19937_64 rng_;
  std::vector<int64_t> order_;
};

}  // namespace onyx::data
