// Helpers for the graph-pass tests: run a model with and without the session's rewrites and
// compare the results.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "onyx/runtime/session.h"

namespace onyx::testing {

// The model's outputs as tensors, from a session at `threads` with the passes on or off;
// `times` runs (later runs reuse what the first prepared, such as reordered weights).
inline std::vector<Tensor> run(const ir::Model& m, const runtime::NamedValues& feeds, int threads,
                               bool optimize = true, int times = 1) {
  runtime::SessionOptions so;
  so.threads = threads;
  so.optimize = optimize;
  runtime::Session s(m, so);
  std::vector<Tensor> out;
  for (int i = 0; i < times; ++i) {
    out.clear();
    for (auto& v : s.run(feeds)) out.push_back(v.tensor());
  }
  return out;
}

// Every element of `got` within `tol` of `want`, relative to 1 + |want|.
inline void expect_close(const Tensor& got, const Tensor& want, double tol,
                         const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = got.element_as_double(i), r = want.element_as_double(i);
    ASSERT_NEAR(g, r, tol * (1 + std::abs(r))) << what << " at " << i;
  }
}

}  // namespace onyx::testing
