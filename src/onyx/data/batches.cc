#include "onyx/data/batches.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include "onyx/core/error.h"

namespace onyx::data {

Batches::Batches(const Dataset& data, const BatchOptions& options)
    : data_(data), o_(options), rng_(options.seed) {
  if (o_.batch_size < 1) fail(ErrorKind::InvalidArgument, "batch size must be positive");
  if (data.size() == 0) fail(ErrorKind::InvalidArgument, data.source(), ": the dataset is empty");
  if (o_.drop_last && data.size() < o_.batch_size) {
    fail(ErrorKind::InvalidArgument, data.source(), ": ", data.size(),
         " samples make no full batch of ", o_.batch_size, " (drop_last)");
  }
  order_.resize(static_cast<size_t>(data.size()));
  std::iota(order_.begin(), order_.end(), 0);
}

int64_t Batches::count(int64_t samples, const BatchOptions& o) {
  return o.drop_last ? samples / o.batch_size : (samples + o.batch_size - 1) / o.batch_size;
}

int64_t Batches::batches_per_epoch() const {
  return count(data_.size(), o_);
}

void Batches::begin_epoch() {
  std::iota(order_.begin(), order_.end(), 0);
  // Fisher-Yates with the generator's raw output: the same on every platform, unlike
  // std::shuffle's unspecified use of it.
  if (o_.shuffle) {
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng_() % i]);
  }
}

std::vector<Feed> Batches::batch(int64_t b) const {
  int64_t start = b * o_.batch_size, n = std::min(o_.batch_size, data_.size() - start);
  if (b < 0 || b >= batches_per_epoch()) {
    fail(ErrorKind::InvalidArgument, "batch ", b, " is out of range");
  }
  auto first = order_.begin() + start;
  return data_.rows(std::vector<int64_t>(first, first + n));
}

std::string Batches::state() const {
  std::ostringstream s;
  s << rng_;
  return s.str();
}

void Batches::set_state(const std::string& text, const std::string& where) {
  std::istringstream s(text);
  std::mt19937_64 rng;
  std::string rest;
  s >> rng;
  bool read = !s.fail();
  s >> rest;  // nothing may follow
  if (!read || !rest.empty()) {
    fail(ErrorKind::InvalidArgument, where, ": the batch order's generator state is malformed");
  }
  rng_ = rng;
}

}  // namespace onyx::data
