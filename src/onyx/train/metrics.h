// Metrics of predictions against labels, one table entry each (name, which way is
// better, how a batch adds to it), summed over batches so a dataset's value does not
// depend on the batch size.
#pragma once

#include <string>
#include <vector>

#include "onyx/core/tensor.h"

namespace onyx::train {

// A metric's running sums: value = sum / count.
struct MetricValue {
  std::string name;
  double sum = 0, count = 0;
  double value() const { return count ? sum / count : 0.0; }
};

struct MetricContext {
  int64_t class_axis = 1;  // of the prediction (negative counts from the end)
  bool binary = false;     // logits of independent 0/1 targets (bce-with-logits)
};

struct MetricDef {
  const char* name;  // "top-k" stands for top1, top2, ...
  const char* help;
  bool higher_is_better;
  // Adds the batch's correct predictions or errors to `m` (`k` is top-k's k).
  void (*add)(MetricValue& m, const Tensor& pred, const Tensor& labels, const MetricContext& c,
              int64_t k);
};

const std::vector<MetricDef>& metrics();
std::vector<std::string> metric_names();

// A metric by name ("loss" is the loss the caller sums itself), or an error listing them.
struct Metric {
  std::string name;
  const MetricDef* def = nullptr;  // nullptr: the loss
  int64_t k = 0;
  bool higher_is_better() const { return def && def->higher_is_better; }
};
Metric metric_named(const std::string& name);

// The k most probable classes of one sample's scores (softmax over all of them), most
// probable first: (class, probability).
std::vector<std::pair<int64_t, double>> top_classes(const Tensor& scores, int64_t k);

}  // namespace onyx::train
