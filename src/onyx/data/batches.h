// Seeded shuffled mini-batches over a dataset of named feeds, with a generator state that
// can be saved and restored (so a resumed training run sees the same batches).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "onyx/data/dataset.h"

namespace onyx::data {

struct BatchOptions {
  int64_t batch_size = 64;
  uint64_t seed = 0;
  bool shuffle = true;     // a new permutation per epoch from the generator, else in order
  bool drop_last = false;  // drop the last, smaller batch of an epoch
};

class Batches {
 public:
  Batches(const Dataset& data, const BatchOptions& options);

  int64_t batches_per_epoch() const;
  // The batches an epoch of `samples` samples makes under `options`.
  static int64_t count(int64_t samples, const BatchOptions& options);
  // Starts an epoch (draws its permutation).
  void begin_epoch();
  // Batch b of the current epoch (the last one may be smaller): every feed's rows.
  std::vector<Feed> batch(int64_t b) const;

  // The generator's state as text, and back.
  std::string state() const;
  // `where` starts the error (the checkpoint) when `s` is not text state() wrote.
  void set_state(const std::string& s, const std::string& where);

 private:
  const Dataset& data_;
  BatchOptions o_;
  std::mt19937_64 rng_;
  std::vector<int64_t> order_;
};

}  // namespace onyx::data
