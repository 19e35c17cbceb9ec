// Model bytes: parsed, planned and run on inputs shaped from the declared types (symbolic
// dimensions 2, values seeded from the input's size), one thread, graph passes on.
#include <map>

#include "fuzz_util.h"
#include "onyx/onnx/model_io.h"
#include "onyx/runtime/session.h"
#include "onyx/tools/bench.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  onyx::fuzz::guarded([&] {
    onyx::ir::Model model =
        onyx::onnx_io::load_model_from_bytes(onyx::fuzz::bytes_of(data, size), "", "fuzz.onnx");
    onyx::runtime::SessionOptions options;
    options.threads = 1;
    options.memory_limit = onyx::fuzz::kMemoryLimit;
    onyx::runtime::Session session(std::move(model), options);
    onyx::tools::BenchOptions shapes;
    shapes.seed = static_cast<uint32_t>(size);
    for (const auto& input : session.inputs()) {
      if (!input.type.shape) continue;
      for (const auto& d : *input.type.shape) {
        if (!d.value) shapes.dims[d.param] = 2;
      }
    }
    session.run(onyx::tools::bench_feeds(session.inputs(), {}, shapes));
  });
  return 0;
}
