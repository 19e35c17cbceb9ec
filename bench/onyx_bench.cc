// Times one model in onyx: onyx_bench MODEL INPUT.npy THREADS ITERS
// Prints {"median_ms": ..., "peak_mb": ...} after a few warm-up runs (plans and buffers are
// reused); peak_mb is the resident memory the session and its runs added (peak_memory.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"
#include "peak_memory.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: onyx_bench MODEL INPUT.npy THREADS ITERS\n");
    return 2;
  }
  try {
    onyx_bench::PeakMemory memory;
    onyx::runtime::SessionOptions so;
    so.threads = std::atoi(argv[3]);
    onyx::runtime::Session s = onyx::runtime::Session::from_file(argv[1], so);
    onyx::Tensor x = onyx::onnx_io::load_npy(argv[2]);
    onyx::runtime::NamedValues feeds{{s.inputs()[0].name, x}};
    for (int i = 0; i < 3; ++i) s.run(feeds);
    std::vector<double> ms;
    for (int i = 0, n = std::atoi(argv[4]); i < n; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      s.run(feeds);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("{\"median_ms\": %.4f, \"peak_mb\": %.1f}\n", ms[ms.size() / 2], memory.peak_mb());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "onyx_bench: %s\n", e.what());
    return 2;
  }
  return 0;
}
