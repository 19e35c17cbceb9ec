// Datasets of named feeds: every feed is a tensor whose axis 0 counts the samples, all
// feeds with the same count. A training run matches feeds to a model's inputs by name
// (and the labels feed to the labels input), so one dataset type serves images, tables,
// sequences and multi-input models alike.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "onyx/core/tensor.h"

namespace onyx::data {

struct Feed {
  std::string name;
  Tensor value;  // [samples, ...]
};

class Dataset {
 public:
  Dataset() = default;
  // `source` names where the data came from (a file, a directory), for error messages.
  explicit Dataset(std::string source) : source_(std::move(source)) {}

  // Adds a feed; its axis 0 must match the others' (error naming the source and feed).
  void add(const std::string& name, Tensor value);
  // Replaces a feed's tensor (same sample count) or renames it.
  void set(const std::string& name, Tensor value);
  void rename(const std::string& from, const std::string& to);

  int64_t size() const { return size_; }  // samples
  const std::vector<Feed>& feeds() const { return feeds_; }
  const Tensor* find(const std::string& name) const;
  // The feed's tensor, or an error listing the feeds there are.
  const Tensor& at(const std::string& name) const;
  const std::string& source() const { return source_; }

  // The samples at `rows` (in that order) of every feed.
  std::vector<Feed> rows(const std::vector<int64_t>& rows) const;
  // A dataset of those rows (a validation split, a subset).
  Dataset subset(const std::vector<int64_t>& rows, const std::string& source) const;

 private:
  std::string source_;
  std::vector<Feed> feeds_;
  int64_t size_ = 0;
};

// A seeded random split: `fraction` of the samples (rounded, at least one) go to the
// second dataset, the rest (in their order) to the first, as a validation split does.
std::pair<Dataset, Dataset> random_split(const Dataset& data, double fraction, uint64_t seed);

}  // namespace onyx::data
