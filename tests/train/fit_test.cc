// General training against PyTorch (references from scripts/make_fit_refs.py): every
// loss, the learning-rate schedules, gradient clipping, accumulation and freezing, a
// transformer tagger with [N, T, C] outputs, and data read from CSV and npz files.
#include <gtest/gtest.h>

#include <cmath>

#include "../autodiff/training_refs.h"
#include "onyx/autodiff/embedded_training.h"
#include "onyx/data/sources.h"
#include "onyx/train/feeds.h"
#include "onyx/train/step_runner.h"

namespace onyx {
namespace {

using testing::expect_close;
using testing::TrainingRefs;

constexpr int64_t kBatch = 16;

autodiff::Schedule schedule(const std::string& spec) {
  return autodiff::parse_schedule(spec);
}

// The options each case of make_fit_refs.py's CASES trains with.
autodiff::TrainingOptions options_for(const std::string& c) {
  autodiff::TrainingOptions o;
  o.optimizer = "sgd";
  if (c.starts_with("reg_")) o.loss = "mse";
  if (c == "reg_sgd" || c == "reg_l1") o.lr = 0.05;
  if (c == "reg_l1") o.loss = "l1";
  if (c == "reg_huber") o.loss = "huber", o.delta = 0.5, o.lr = 0.1;
  if (c == "reg_smooth_l1") o.loss = "smooth-l1", o.delta = 0.5, o.lr = 0.1;
  if (c == "reg_step") o.lr = 0.1, o.schedules = {schedule("step:step_size=5,gamma=0.5")};
  if (c == "reg_multistep") {
    o.optimizer = "momentum", o.lr = 0.05, o.momentum = 0.9;
    o.schedules = {schedule("multistep:milestones=3/8/15,gamma=0.3")};
  }
  if (c == "reg_exponential")
    o.optimizer = "adam", o.lr = 0.02, o.schedules = {schedule("exponential:gamma=0.9")};
  if (c == "reg_warmup_cosine") {
    o.lr = 0.1;
    o.schedules = {schedule("linear:start_factor=0.25,total_iters=5"), schedule("cosine:T_max=20")};
  }
  if (c == "reg_clip_norm") o.lr = 0.1, o.clip_grad_norm = 0.5;
  if (c == "reg_clip_value") o.lr = 0.1, o.clip_grad_value = 0.05;
  if (c == "reg_accumulate") o.optimizer = "adam", o.lr = 0.01, o.accumulate = 4;
  if (c == "ce_smooth") o.optimizer = "adam", o.lr = 0.01, o.label_smoothing = 0.1;
  if (c == "soft_ce") o.loss = "soft-cross-entropy", o.lr = 0.2, o.label_smoothing = 0.05;
  if (c == "nll") o.loss = "nll", o.lr = 0.05;
  if (c == "bce") o.loss = "bce-with-logits", o.lr = 0.5;
  if (c == "freeze") o.lr = 0.1, o.freeze = {"net.0.*"};
  if (c == "tagger") o.optimizer = "momentum", o.lr = 0.05, o.momentum = 0.9, o.class_axis = -1;
  if (c == "two_inputs") o.optimizer = "momentum", o.lr = 0.1, o.momentum = 0.9;
  return o;
}

// Batch s of the case's data: from diabetes.csv or two_inputs.npz through the data
// readers (in file order), else the stacked batches of the manifest.
runtime::NamedValues batch(const std::string& c, const TrainingRefs& refs,
                           const train::StepRunner& runner, int64_t s) {
  runtime::NamedValues feeds;
  if (refs.has("x")) {
    feeds.emplace_back("x", TrainingRefs::row(refs.get("x"), s));
    feeds.emplace_back("labels", TrainingRefs::row(refs.get("labels"), s));
    return feeds;
  }
  data::Dataset raw = c.starts_with("reg_")
                          ? data::load_csv(refs.dir() + "/diabetes.csv", {.target = "target"})
                          : data::load_npz(refs.dir() + "/two_inputs.npz");
  data::Dataset fitted = train::fit_feeds(raw, runner.feeds(), "labels", c);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < kBatch; ++i) rows.push_back(s * kBatch + i);
  for (auto& f : fitted.rows(rows)) feeds.emplace_back(f.name, f.value);
  return feeds;
}

class Fit : public ::testing::TestWithParam<std::string> {};

// 20 steps of the model's embedded training step (as Trainer runs it) against PyTorch.
TEST_P(Fit, FollowsPyTorch) {
  const std::string& c = GetParam();
  TrainingRefs refs(c, "fit");
  autodiff::TrainingOptions o = options_for(c);
  train::StepRunner runner(autodiff::embed_training_step(refs.model(), o), 1);
  Tensor expected = refs.get("losses");
  for (int64_t s = 0; s < expected.numel(); ++s) {
    std::vector<Value> out = runner.run(batch(c, refs, runner, s));
    double ours = out[0].tensor().element_as_double(0), theirs = expected.element_as_double(s);
    EXPECT_NEAR(ours, theirs, 1e-3 * std::abs(theirs)) << c << " step " << s;
  }
  std::map<std::string, Tensor> state;
  for (auto& [name, value] : runner.state()) state[name] = value;
  for (const std::string& p : refs.params()) {
    std::string init = refs.initializer_of(p);
    ASSERT_TRUE(state.count(init) || !o.freeze.empty()) << p << " is not carried";
    if (!state.count(init)) {
      // Frozen: not even carried, so the model keeps the exported bytes.
      EXPECT_TRUE(p.starts_with("net.0.")) << p << " was not trained";
      continue;
    }
    expect_close(state[init], refs.get("final:" + p), 1e-3, c + ": " + p);
  }
  int64_t optimizer_steps = expected.numel() / o.accumulate;
  EXPECT_EQ(state.at("step").element_as_double(0), optimizer_steps);
}

INSTANTIATE_TEST_SUITE_P(Cases, Fit,
                         ::testing::Values("reg_sgd", "reg_l1", "reg_huber", "reg_smooth_l1",
                                           "reg_step", "reg_multistep", "reg_exponential",
                                           "reg_warmup_cosine", "reg_clip_norm", "reg_clip_value",
                                           "reg_accumulate", "ce_smooth", "soft_ce", "nll", "bce",
                                           "freeze", "tagger", "two_inputs"));

}  // namespace
}  // namespace onyx
