#include "onyx/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "onyx/core/error.h"

namespace onyx::data {

namespace {

// The dataset's name in errors: its source, when it has one.
std::string where(const std::string& source) {
  return source.empty() ? "dataset" : source;
}

// "a, b, c" or "(none)": what an error about a missing feed offers instead.
std::string feed_list(const std::vector<Feed>& feeds) {
  if (feeds.empty()) return "(none)";
  std::string out;
  for (const auto& f : feeds) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

// Axis 0 counts the samples, so a scalar cannot be a feed.
void check_has_samples(const std::string& source, const std::string& name, const Tensor& value) {
  if (!value.defined())
    fail(ErrorKind::InvalidArgument, where(source), ": feed '", name, "' holds no tensor");
  if (value.rank() == 0) {
    fail(ErrorKind::InvalidArgument, where(source), ": feed '", name,
         "' is a scalar; a feed's axis 0 counts the samples");
  }
}

}  // namespace

void Dataset::add(const std::string& name, Tensor value) {
  if (find(name))
    fail(ErrorKind::InvalidArgument, where(source_), ": two feeds named '", name, "'");
  check_has_samples(source_, name, value);
  if (feeds_.empty()) {
    size_ = value.dim(0);
  } else if (value.dim(0) != size_) {
    fail(ErrorKind::InvalidArgument, where(source_), ": feed '", feeds_[0].name, "' has ", size_,
         " samples, feed '", name, "' has ", value.dim(0));
  }
  feeds_.push_back({name, std::move(value)});
}

void Dataset::set(const std::string& name, Tensor value) {
  at(name);  // the error listing the feeds when there is no such one
  check_has_samples(source_, name, value);
  if (value.dim(0) != size_) {
    fail(ErrorKind::InvalidArgument, where(source_), ": feed '", name, "' has ", size_,
         " samples, its replacement has ", value.dim(0));
  }
  for (auto& f : feeds_) {
    if (f.name == name) f.value = std::move(value);
  }
}

void Dataset::rename(const std::string& from, const std::string& to) {
  at(from);
  if (from == to) return;
  if (find(to)) {
    fail(ErrorKind::InvalidArgument, where(source_), ": cannot rename feed '", from, "' to '", to,
         "': that name is taken");
  }
  for (auto& f : feeds_) {
    if (f.name == from) f.name = to;
  }
}

const Tensor* Dataset::find(const std::string& name) const {
  for (const auto& f : feeds_) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

const Tensor& Dataset::at(const std::string& name) const {
  if (const Tensor* t = find(name)) return *t;
  fail(ErrorKind::InvalidArgument, where(source_), ": no feed '", name,
       "'; the feeds are: ", feed_list(feeds_));
}

std::vector<Feed> Dataset::rows(const std::vector<int64_t>& rows) const {
  for (int64_t r : rows) {
    if (r < 0 || r >= size_) {
      fail(ErrorKind::InvalidArgument, where(source_), ": sample ", r, " is out of range for ",
           size_, " samples");
    }
  }
  std::vector<Feed> out;
  for (const auto& f : feeds_) {
    Shape shape = f.value.shape();
    shape[0] = static_cast<int64_t>(rows.size());
    Tensor t = Tensor::empty(f.value.dtype(), shape);
    // One sample is a contiguous run of elements (row-major), whatever the rank.
    const size_t per = f.value.dim(0) ? static_cast<size_t>(f.value.numel() / f.value.dim(0)) : 0;
    if (f.value.dtype() == DType::String) {
      const auto* src = f.value.data<std::string>();
      auto* dst = t.data<std::string>();
      for (size_t i = 0; i < rows.size(); ++i) {
        for (size_t k = 0; k < per; ++k) dst[i * per + k] = src[rows[i] * per + k];
      }
    } else {
      const size_t bytes = per * dtype_size(f.value.dtype());
      const auto* src = static_cast<const char*>(f.value.raw_data());
      auto* dst = static_cast<char*>(t.raw_data());
      for (size_t i = 0; i < rows.size() && bytes; ++i) {
        std::memcpy(dst + i * bytes, src + static_cast<size_t>(rows[i]) * bytes, bytes);
      }
    }
    out.push_back({f.name, std::move(t)});
  }
  return out;
}

Dataset Dataset::subset(const std::vector<int64_t>& rows, const std::string& source) const {
  Dataset d(source);
  for (auto& f : this->rows(rows)) d.add(f.name, std::move(f.value));
  return d;
}

std::pair<Dataset, Dataset> random_split(const Dataset& data, double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction < 1)) {
    fail(ErrorKind::InvalidArgument, "a validation split must be between 0 and 1, not ", fraction);
  }
  int64_t n = data.size();
  int64_t held = std::max<int64_t>(1, std::llround(fraction * static_cast<double>(n)));
  if (held >= n) {
    fail(ErrorKind::InvalidArgument, data.source(), ": ", n, " samples are too few to hold ",
         fraction, " of them out");
  }
  // Fisher-Yates with the generator's raw output, as Batches shuffles (portable).
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  std::vector<int64_t> kept(order.begin(), order.end() - held),
      out(order.end() - held, order.end());
  std::sort(kept.begin(), kept.end());
  std::sort(out.begin(), out.end());
  return {data.subset(kept, data.source()),
          data.subset(out, data.source() + " (validation split)")};
}

}  // namespace onyx::data
