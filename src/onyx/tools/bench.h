// Latency of a model in onyx's runtime, as `onyx bench` reports it: Session::run timed after
// warm-up runs (plans and buffers are made on the first run and reused), on the inputs given
// or on random ones shaped from the declared input types.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onyx/runtime/session.h"

namespace onyx::tools {

struct BenchOptions {
  int threads = 0;  // 0: one per core
  int iters = 20;
  int warmup = 3;
  // Sizes for the declared inputs' dimensions that are not numbers: by name (`--dim N=4`),
  // then `batch` for a first dimension that is still open (0: none).
  std::map<std::string, int64_t> dims;
  int64_t batch = 0;
  uint32_t seed = 1;
};

struct BenchResult {
  std::vector<double> ms;  // every timed run, in order
  double min_ms = 0, median_ms = 0, p90_ms = 0, mean_ms = 0;
  int64_t batch = 1;  // the first dimension of the first input: samples per run
  int threads = 0;    // the session's threads
  double samples_per_s() const { return median_ms > 0 ? 1000.0 * batch / median_ms : 0; }
  // One JSON object: median_ms, min_ms, p90_ms, mean_ms, iters, warmup, threads, batch,
  // samples_per_s.
  std::string json(int warmup) const;
};

// Random feeds for the model's inputs that `given` lacks, shaped by the declared types and
// `options` (floats uniform in [-1, 1), integers in [0, 10), bools either way; seeded).
// Throws InvalidArgument naming the input and the dimension when a size is unknown.
runtime::NamedValues bench_feeds(const std::vector<ir::ValueInfo>& inputs,
                                 const runtime::NamedValues& given, const BenchOptions& options);

// Runs `session` options.warmup times, then options.iters times timed.
BenchResult bench(runtime::Session& session, const runtime::NamedValues& feeds,
                  const BenchOptions& options);

}  // namespace onyx::tools
