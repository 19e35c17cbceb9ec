#include "onyx/tools/bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>

namespace onyx::tools {

namespace {

Shape concrete_shape(const ir::ValueInfo& in, const BenchOptions& options) {
  if (in.type.kind != ir::TypeInfo::Kind::Tensor || !in.type.shape) {
    fail(ErrorKind::InvalidArgument, "input '", in.name, "' has no declared tensor shape: give it ",
         "with --input ", in.name, "=FILE");
  }
  Shape shape;
  for (size_t d = 0; d < in.type.shape->size(); ++d) {
    const ir::Dim& dim = (*in.type.shape)[d];
    if (dim.value) {
      shape.push_back(*dim.value);
      continue;
    }
    auto named = dim.param.empty() ? options.dims.end() : options.dims.find(dim.param);
    if (named != options.dims.end()) {
      shape.push_back(named->second);
    } else if (d == 0 && options.batch > 0) {
      shape.push_back(options.batch);
    } else {
      fail(ErrorKind::InvalidArgument, "input '", in.name, "': dimension ", d,
           dim.param.empty() ? std::string(" is unknown") : " ('" + dim.param + "') is symbolic",
           ": set it with ",
           dim.param.empty() ? std::string("--batch N") : "--dim " + dim.param + "=N",
           d == 0 && dim.param.empty() ? "" : " or give the input with --input");
    }
  }
  return shape;
}

Tensor random_tensor(DType t, const Shape& shape, std::mt19937& rng) {
  Tensor x = Tensor::empty(t, shape);
  if (is_floating(t)) {
    std::uniform_real_distribution<double> u(-1, 1);
    visit_float(t, [&](auto tag) {
      using T = decltype(tag);
      for (int64_t i = 0; i < x.numel(); ++i) x.data<T>()[i] = from_double<T>(u(rng));
    });
  } else if (is_integer(t)) {
    std::uniform_int_distribution<int> u(0, 9);
    visit_integer(t, [&](auto tag) {
      using T = decltype(tag);
      for (int64_t i = 0; i < x.numel(); ++i) x.data<T>()[i] = static_cast<T>(u(rng));
    });
  } else if (t == DType::Bool) {
    std::bernoulli_distribution u(0.5);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<bool>()[i] = u(rng);
  } else {
    fail(ErrorKind::Unsupported, "random ", dtype_name(t), " inputs: give them with --input");
  }
  return x;
}

}  // namespace

runtime::NamedValues bench_feeds(const std::vector<ir::ValueInfo>& inputs,
                                 const runtime::NamedValues& given, const BenchOptions& options) {
  runtime::NamedValues feeds = given;
  std::mt19937 rng(options.seed);
  for (const auto& in : inputs) {
    bool fed =
        std::any_of(given.begin(), given.end(), [&](const auto& f) { return f.first == in.name; });
    if (fed) continue;
    feeds.emplace_back(in.name, random_tensor(in.type.elem, concrete_shape(in, options), rng));
  }
  return feeds;
}

BenchResult bench(runtime::Session& session, const runtime::NamedValues& feeds,
                  const BenchOptions& options) {
  if (options.iters < 1 || options.warmup < 0)
    fail(ErrorKind::InvalidArgument, "iters must be positive and warmup not negative");
  for (int i = 0; i < options.warmup; ++i) session.run(feeds);
  BenchResult r;
  for (int i = 0; i < options.iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    session.run(feeds);
    r.ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = r.ms;
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  r.min_ms = sorted.front();
  r.median_ms = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  r.p90_ms = sorted[std::min(n - 1, static_cast<size_t>(0.9 * static_cast<double>(n)))];
  r.mean_ms = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(n);
  for (const auto& [name, value] : feeds) {
    if (!session.inputs().empty() && name == session.inputs()[0].name && value.is_tensor() &&
        value.tensor().rank() > 0) {
      r.batch = value.tensor().dim(0);
    }
  }
  r.threads = session.threads();
  return r;
}

std::string BenchResult::json(int warmup) const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"median_ms\": %.4f, \"min_ms\": %.4f, \"p90_ms\": %.4f, \"mean_ms\": %.4f, "
                "\"iters\": %zu, \"warmup\": %d, \"threads\": %d, \"batch\": %lld, "
                "\"samples_per_s\": %.2f}",
                median_ms, min_ms, p90_ms, mean_ms, ms.size(), warmup, threads,
                static_cast<long long>(batch), samples_per_s());
  return buf;
}

}  // namespace onyx::tools
