// Peak resident memory of what a benchmark does after a starting point, the same way in
// every peer's bench program (bench/peak_memory.js, bench/peak_memory.py): mark() resets
// the kernel's high-water mark (writing 5 to /proc/self/clear_refs) and records the
// resident size then; peak_mb() is the high-water mark since, less that starting size.
// What a process held before (its runtime, imported libraries) is left out, so the
// figure is the model and its runs.
#pragma once

#include <cstring>
#include <fstream>
#include <string>

namespace onyx_bench {

inline double status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
      return std::stod(line.substr(n + 1));
  return 0;
}

class PeakMemory {
 public:
  PeakMemory() {
    std::ofstream("/proc/self/clear_refs") << "5";
    start_kb_ = status_kb("VmRSS");
  }
  double peak_mb() const { return (status_kb("VmHWM") - start_kb_) / 1024.0; }

 private:
  double start_kb_ = 0;
};

}  // namespace onyx_bench
