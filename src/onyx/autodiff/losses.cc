#include "onyx/autodiff/losses.h"

#include "onyx/autodiff/training.h"
#include "onyx/core/named_table.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

std::string mean(ir::GraphBuilder& b, const std::string& x) {
  return b.op("ReduceMean", {x}, {attr("keepdims", int64_t{0})});
}

// The mean over every sample (and position) of the class axis' sum.
std::string mean_class_sum(ir::GraphBuilder& b, const std::string& x) {
  std::string axis = b.constant("axes", Tensor::from_vector<int64_t>({1}, {1}));
  return mean(b, b.op("ReduceSum", {x, axis}, {attr("keepdims", int64_t{0})}));
}

// (1 - e) * loss - e * mean(log_softmax): label smoothing's uniform share, as PyTorch
// spreads it (e / C to every class, so the class count cancels against the mean).
std::string smoothed(ir::GraphBuilder& b, const std::string& loss, const std::string& lsm, DType t,
                     double e) {
  return b.op("Sub", {b.op("Mul", {b.scalar(1 - e, t), loss}),
                      b.op("Mul", {b.scalar(e, t), mean(b, lsm)})});
}

std::string cross_entropy(ir::GraphBuilder& b, const std::string& p, const std::string& y, DType t,
                          const TrainingOptions& o) {
  if (o.label_smoothing == 0) return b.op("SoftmaxCrossEntropyLoss", {p, y});
  std::string lsm = b.op("LogSoftmax", {p}, {attr("axis", int64_t{1})});
  return smoothed(b, b.op("NegativeLogLikelihoodLoss", {lsm, y}), lsm, t, o.label_smoothing);
}

std::string soft_cross_entropy(ir::GraphBuilder& b, const std::string& p, const std::string& y,
                               DType t, const TrainingOptions& o) {
  std::string lsm = b.op("LogSoftmax", {p}, {attr("axis", int64_t{1})});
  std::string loss = b.op("Neg", {mean_class_sum(b, b.op("Mul", {y, lsm}))});
  return o.label_smoothing == 0 ? loss : smoothed(b, loss, lsm, t, o.label_smoothing);
}

std::string nll(ir::GraphBuilder& b, const std::string& p, const std::string& y, DType,
                const TrainingOptions&) {
  return b.op("NegativeLogLikelihoodLoss", {p, y});
}

std::string mse(ir::GraphBuilder& b, const std::string& p, const std::string& y, DType,
                const TrainingOptions&) {
  std::string d = b.op("Sub", {p, y});
  return mean(b, b.op("Mul", {d, d}));
}

std::string l1(ir::GraphBuilder& b, const std::string& p, const std::string& y, DType,
               const TrainingOptions&) {
  return mean(b, b.op("Abs", {b.op("Sub", {p, y})}));
}

// Quadratic below `delta`, linear above: huber's quadratic part is 0.5 d^2, smooth-l1's
// 0.5 d^2 / beta (smooth-l1 = huber / beta).
std::string huber_like(ir::GraphBuilder& b, const std::string& p, const std::string& y, DType t,
                       double delta, bool smooth_l1) {
  if (delta <= 0) fail(ErrorKind::InvalidArgument, "huber and smooth-l1 need a delta above 0");
  std::string d = b.op("Abs", {b.op("Sub", {p, y})});
  std::string quad = b.op("Mul", {b.scalar(0.5, t), b.op("Mul", {d, d})});
  std::string lin = b.op("Sub", {d, b.scalar(0.5 * delta, t)});
  if (smooth_l1) {
    quad = b.op("Div", {quad, b.scalar(delta, t)});
  } else {
    lin = b.op("Mul", {b.scalar(delta, t), lin});
  }
  std::string small = b.op("Less", {d, b.scalar(delta, t)});
  return mean(b, b.op("Where", {small, quad, lin}));
}

std::string huber(ir::GraphBuilder& b, const std::string& p, const std::string& y, DType t,
                  const TrainingOptions& o) {
  return huber_like(b, p, y, t, o.delta, false);
}

std::string smooth_l1(ir::GraphBuilder& b, const std::string& p, const std::string& y, DType t,
                      const TrainingOptions& o) {
  return huber_like(b, p, y, t, o.delta, true);
}

// max(x, 0) - x y + log(1 + exp(-|x|)): the stable form PyTorch uses.
std::string bce_with_logits(ir::GraphBuilder& b, const std::string& x, const std::string& y, DType,
                            const TrainingOptions&) {
  std::string lin = b.op("Sub", {b.op("Relu", {x}), b.op("Mul", {x, y})});
  return mean(b, b.op("Add", {lin, b.op("Softplus", {b.op("Neg", {b.op("Abs", {x})})})}));
}

}  // namespace

const std::vector<LossDef>& losses() {
  static const std::vector<LossDef> table = {
      {"cross-entropy", "softmax cross-entropy on class indices (--label-smoothing)",
       LabelKind::ClassIndices, true, cross_entropy},
      {"soft-cross-entropy", "softmax cross-entropy on class probabilities shaped like the output",
       LabelKind::LikePrediction, true, soft_cross_entropy},
      {"nll", "negative log-likelihood of log-probabilities, on class indices",
       LabelKind::ClassIndices, true, nll},
      {"mse", "mean squared error", LabelKind::LikePrediction, false, mse},
      {"l1", "mean absolute error", LabelKind::LikePrediction, false, l1},
      {"huber", "Huber loss (--delta)", LabelKind::LikePrediction, false, huber},
      {"smooth-l1", "smooth L1 loss (--delta is its beta)", LabelKind::LikePrediction, false,
       smooth_l1},
      {"bce-with-logits", "binary cross-entropy on logits, float 0/1 (or soft) targets",
       LabelKind::LikePrediction, false, bce_with_logits},
  };
  return table;
}

std::vector<std::string> loss_names() {
  return names_of(losses());
}

const LossDef& loss_named(const std::string& name) {
  return find_named(losses(), name, "loss");
}

}  // namespace onyx::autodiff
