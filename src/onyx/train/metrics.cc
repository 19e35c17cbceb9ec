#include "onyx/train/metrics.h"

#include <algorithm>
#include <cmath>

#include "onyx/core/error.h"

namespace onyx::train {

namespace {

// The prediction as [outer, classes, inner] around its class axis.
struct ClassView {
  int64_t outer = 1, classes = 1, inner = 1;
};

ClassView class_view(const Tensor& pred, int64_t axis) {
  int64_t r = pred.rank(), a = axis < 0 ? axis + r : axis;
  if (r < 2 || a < 1 || a >= r) {
    fail(ErrorKind::InvalidArgument, "a prediction ", dtype_name(pred.dtype()),
         shape_str(pred.shape()), " has no class axis ", axis);
  }
  ClassView v;
  for (int64_t i = 0; i < r; ++i) {
    int64_t d = pred.dim(i);
    (i < a ? v.outer : i == a ? v.classes : v.inner) *= d;
  }
  return v;
}

double at(const Tensor& t, int64_t i) {
  return t.element_as_double(i);
}

// The label of position (o, i): a class index, or the argmax of class probabilities.
int64_t label_class(const Tensor& labels, const ClassView& v, int64_t o, int64_t i) {
  if (labels.numel() == v.outer * v.inner) return static_cast<int64_t>(at(labels, o * v.inner + i));
  int64_t best = 0;
  for (int64_t c = 1; c < v.classes; ++c) {
    int64_t base = o * v.classes * v.inner + i;
    if (at(labels, base + c * v.inner) > at(labels, base + best * v.inner)) best = c;
  }
  return best;
}

void check_labels(const Tensor& pred, const Tensor& labels, const ClassView& v, const char* what) {
  if (labels.numel() != v.outer * v.inner && labels.numel() != pred.numel()) {
    fail(ErrorKind::InvalidArgument, what, ": labels ", dtype_name(labels.dtype()),
         shape_str(labels.shape()), " fit neither the classes nor the shape of the prediction ",
         dtype_name(pred.dtype()), shape_str(pred.shape()));
  }
}

// Correct when the label's class is among the k highest scores (ties count against).
void add_top_k(MetricValue& m, const Tensor& pred, const Tensor& labels, const MetricContext& c,
               int64_t k) {
  if (c.binary) {
    for (int64_t i = 0; i < pred.numel(); ++i) m.sum += (at(pred, i) > 0) == (at(labels, i) > 0.5);
    m.count += static_cast<double>(pred.numel());
    return;
  }
  ClassView v = class_view(pred, c.class_axis);
  check_labels(pred, labels, v, "accuracy");
  for (int64_t o = 0; o < v.outer; ++o) {
    for (int64_t i = 0; i < v.inner; ++i) {
      int64_t y = label_class(labels, v, o, i);
      int64_t base = o * v.classes * v.inner + i;
      if (y < 0 || y >= v.classes) {
        fail(ErrorKind::InvalidArgument, "label ", y, " is not a class of a prediction with ",
             v.classes, " classes");
      }
      double score = at(pred, base + y * v.inner);
      int64_t above = 0;
      for (int64_t cl = 0; cl < v.classes; ++cl)
        above += cl != y && at(pred, base + cl * v.inner) >= score;
      m.sum += above < k;
    }
  }
  m.count += static_cast<double>(v.outer * v.inner);
}

void check_same(const Tensor& pred, const Tensor& labels, const char* what) {
  if (pred.numel() != labels.numel()) {
    fail(ErrorKind::InvalidArgument, what, ": the prediction ", dtype_name(pred.dtype()),
         shape_str(pred.shape()), " and the labels ", dtype_name(labels.dtype()),
         shape_str(labels.shape()), " differ in size");
  }
}

void add_mse(MetricValue& m, const Tensor& pred, const Tensor& labels, const MetricContext&,
             int64_t) {
  check_same(pred, labels, "mse");
  for (int64_t i = 0; i < pred.numel(); ++i) {
    double d = at(pred, i) - at(labels, i);
    m.sum += d * d;
  }
  m.count += static_cast<double>(pred.numel());
}

void add_mae(MetricValue& m, const Tensor& pred, const Tensor& labels, const MetricContext&,
             int64_t) {
  check_same(pred, labels, "mae");
  for (int64_t i = 0; i < pred.numel(); ++i) m.sum += std::abs(at(pred, i) - at(labels, i));
  m.count += static_cast<double>(pred.numel());
}

}  // namespace

const std::vector<MetricDef>& metrics() {
  static const std::vector<MetricDef> table = {
      {"accuracy", "fraction of top-1 predictions that are the label (logit > 0 for binary)", true,
       add_top_k},
      {"top-k", "fraction with the label among the k best scores: top5, top3, ...", true,
       add_top_k},
      {"mse", "mean squared error", false, add_mse},
      {"mae", "mean absolute error", false, add_mae},
  };
  return table;
}

std::vector<std::string> metric_names() {
  std::vector<std::string> names{"loss"};
  for (const auto& m : metrics()) names.push_back(m.name);
  return names;
}

std::vector<std::pair<int64_t, double>> top_classes(const Tensor& scores, int64_t k) {
  int64_t n = scores.numel();
  if (n < 1 || !is_floating(scores.dtype())) {
    fail(ErrorKind::InvalidArgument, "expected float class scores, got ",
         dtype_name(scores.dtype()), shape_str(scores.shape()));
  }
  std::vector<double> p(static_cast<size_t>(n));
  double mx = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, at(scores, i));
  for (int64_t i = 0; i < n; ++i) sum += p[i] = std::exp(at(scores, i) - mx);
  std::vector<std::pair<int64_t, double>> out;
  for (int64_t i = 0; i < n; ++i) out.emplace_back(i, p[i] / sum);
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  out.resize(static_cast<size_t>(std::min(k, n)));
  return out;
}

Metric metric_named(const std::string& name) {
  Metric m;
  m.name = name;
  if (name == "loss") return m;
  for (const auto& d : metrics()) {
    if (name == d.name && name != "top-k") {
      m.def = &d;
      m.k = 1;
      return m;
    }
  }
  if (name.size() > 3 && name.starts_with("top") &&
      std::all_of(name.begin() + 3, name.end(), ::isdigit) && name.size() < 10) {
    m.k = std::stoll(name.substr(3));
    if (m.k >= 1) {
      m.def = &*std::find_if(metrics().begin(), metrics().end(),
                             [](const MetricDef& d) { return std::string(d.name) == "top-k"; });
      return m;
    }
  }
  std::string all;
  for (const auto& n : metric_names()) all += (all.empty() ? "" : ", ") + n;
  fail(ErrorKind::InvalidArgument, "unknown metric '", name, "' (", all, ")");
}

}  // namespace onyx::train
