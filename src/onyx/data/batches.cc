#include "onyx/data/batches.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <sstream>

#include "onyx/core/error.h"

namespace onyx::data {

Batches::Batches(const Dataset& data, int64_t batch_size, uint64_t seed, bool shuffle)
    : data_(data), batch_size_(batch_size), shuffle_(shuffle), rng_(seed) {
  if (batch_size < 1) fail(ErrorKind::InvalidArgument, "batch size must be positive");
  if (data.size() == 0) fail(ErrorKind::InvalidArgument, "the dataset is empty");
  order_.resize(static_cast<size_t>(data.size()));
  std::iota(order_.begin(), order_.end(), 0);
}

int64_t Batches::batches_per_epoch() const {
  return (data_.size() + batch_size_ - 1) / batch_size_;
}

void Batches::begin_epoch() {
  std::iota(order_.begin(), order_.end(), 0);
  // Fisher-Yates with the generator's raw output: the same on every platform, unlike
  // std::shuffle's unspecified use of it.
  if (shuffle_) {
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng_() % i]);
  }
}

std::pair<Tensor, Tensor> Batches::batch(int64_t b) const {
  int64_t start = b * batch_size_, n = std::min(batch_size_, data_.size() - start);
  if (b < 0 || n <= 0) fail(ErrorKind::InvalidArgument, "batch ", b, " is out of range");
  Shape ishape = data_.images.shape();
  int64_t per = data_.images.numel() / data_.size();
  ishape[0] = n;
  Tensor images = Tensor::empty(DType::Float32, ishape), labels = Tensor::empty(DType::Int64, {n});
  for (int64_t i = 0; i < n; ++i) {
    int64_t src = order_[static_cast<size_t>(start + i)];
    std::memcpy(images.data<float>() + i * per, data_.images.data<float>() + src * per,
                static_cast<size_t>(per) * sizeof(float));
    labels.data<int64_t>()[i] = data_.labels.data<int64_t>()[src];
  }
  return {images, labels};
}

std::string Batches::state() const {
  std::ostringstream s;
  s << rng_;
  return s.str();
}

void Batches::set_state(const std::string& text) {
  std::istringstream s(text);
  s >> rng_;
  if (s.fail()) fail(ErrorKind::InvalidArgument, "bad generator state");
}

}  // namespace onyx::data
