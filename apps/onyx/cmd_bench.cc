// onyx bench MODEL [--input NAME=FILE]... [--threads N] [--iters N] [--warmup N] [--batch N]
// [--dim NAME=N]... [--json] [--no-optimize]: Session::run's latency (min, median, p90) and
// throughput.
#include <iostream>

#include "commands.h"
#include "feeds.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/onnx/model_io.h"
#include "onyx/tools/bench.h"

namespace onyx::cli {

Command add_bench(CLI::App& app) {
  struct Opts {
    std::string model;
    std::vector<std::string> inputs, dims;
    tools::BenchOptions bench;
    bool json = false;
    bool no_optimize = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("bench", "Time a model's runs (latency and throughput)");
  cmd->add_option("model", o->model, "ONNX model file")->required();
  cmd->add_option("--input,-i", o->inputs,
                  "NAME=FILE (.pb or .npy); inputs not given are random, shaped as declared");
  cmd->add_option("--threads", o->bench.threads, "intra-op threads (default: all cores)");
  cmd->add_option("--iters", o->bench.iters, "timed runs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--warmup", o->bench.warmup, "untimed runs first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--batch", o->bench.batch, "size of the random inputs' open first dimension")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dim", o->dims, "NAME=N: size of a symbolic dimension of random inputs");
  cmd->add_flag("--json", o->json, "end with one JSON line (median_ms, min_ms, p90_ms, ...)");
  cmd->add_flag("--no-optimize", o->no_optimize,
                "run every node as written: no graph passes (to measure what they give)");
  return [o]() {
    for (const std::string& d : o->dims) {
      size_t eq = d.find('=');
      int64_t n = 0;
      try {
        n = eq == std::string::npos ? 0 : std::stoll(d.substr(eq + 1));
      } catch (const std::exception&) {
      }
      if (eq == std::string::npos || eq == 0 || n < 1) {
        fail(ErrorKind::InvalidArgument, "--dim '", d, "': expected NAME=N with N positive");
      }
      o->bench.dims[d.substr(0, eq)] = n;
    }
    runtime::SessionOptions so;
    so.threads = o->bench.threads;
    so.optimize = !o->no_optimize;
    ir::Model model = onnx_io::load_model(o->model);
    autodiff::lower_gradient_ops(model);
    runtime::Session session(std::move(model), so);
    runtime::NamedValues feeds =
        tools::bench_feeds(session.inputs(), load_feeds(o->inputs, session.inputs()), o->bench);
    tools::BenchResult r = tools::bench(session, feeds, o->bench);
    std::printf("%s: %d thread%s, batch %lld, %zu runs after %d warm-up\n", o->model.c_str(),
                r.threads, r.threads == 1 ? "" : "s", static_cast<long long>(r.batch), r.ms.size(),
                o->bench.warmup);
    if (o->bench.batch && r.batch != o->bench.batch) {
      std::printf("(the model fixes the first dimension at %lld; --batch sizes open ones)\n",
                  static_cast<long long>(r.batch));
    }
    std::printf("latency ms: min %.3f  median %.3f  p90 %.3f  mean %.3f\n", r.min_ms, r.median_ms,
                r.p90_ms, r.mean_ms);
    std::printf("throughput: %.1f samples/s\n", r.samples_per_s());
    if (o->json) std::printf("%s\n", r.json(o->bench.warmup).c_str());
    return 0;
  };
}

}  // namespace onyx::cli
