#include "onyx/core/limits.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>

#include "onyx/core/error.h"

namespace onyx {

namespace {

// The cgroup v2 limit of this process's group, when it has one ("max" is none).
size_t cgroup_memory_max() {
  std::ifstream in("/sys/fs/cgroup/memory.max");
  std::string text;
  if (!(in >> text) || text == "max") return SIZE_MAX;
  size_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() && v > 0 ? v : SIZE_MAX;
}

// Set on first use, not during static initialisation: code in other files may allocate
// tensors before this file's statics would be initialised.
std::atomic<size_t>& limit_slot() {
  static std::atomic<size_t> limit{default_memory_limit()};
  return limit;
}
std::atomic<size_t> g_in_use{0};
std::atomic<int64_t> g_max_loop_iterations{0};

}  // namespace

size_t default_memory_limit() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  size_t machine = pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page)
                                         : size_t{64} << 30;
  return std::min(machine, cgroup_memory_max()) / 4 * 3;
}

size_t memory_limit() {
  return limit_slot().load();
}
void set_memory_limit(size_t bytes) {
  limit_slot().store(bytes);
}
size_t memory_in_use() {
  return g_in_use.load();
}

void reserve_memory(size_t bytes) {
  size_t limit = memory_limit();
  size_t before = g_in_use.fetch_add(bytes);
  if (bytes > limit || before > limit - bytes) {
    g_in_use.fetch_sub(bytes);
    fail(ErrorKind::ResourceLimit, "allocating ", bytes, " bytes with ", before,
         " in use would pass the memory limit of ", limit, " bytes (--max-memory)");
  }
}
void release_memory(size_t bytes) {
  g_in_use.fetch_sub(bytes);
}

size_t parse_byte_size(const std::string& text, const std::string& what) {
  auto bad = [&]() -> size_t {
    fail(ErrorKind::InvalidArgument, what, ": '", text,
         "' is not a size (bytes, or a number with K, M, G or T: 512M, 1.5G)");
  };
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || !(v > 0) || !std::isfinite(v)) return bad();
  std::string unit(end, text.data() + text.size());
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() == 3 && unit.substr(1) == "IB") unit.resize(1);  // 1.5GiB
  if (unit.size() == 2 && unit[1] == 'B') unit.resize(1);          // 2GB
  if (unit == "B") unit.clear();
  static const std::string kUnits = "KMGT";
  double scale = 1;
  if (!unit.empty()) {
    size_t p = unit.size() == 1 ? kUnits.find(unit[0]) : std::string::npos;
    if (p == std::string::npos) return bad();
    scale = std::ldexp(1.0, 10 * static_cast<int>(p + 1));
  }
  double bytes = v * scale;
  if (bytes < 1 || bytes >= 1.8e19) return bad();
  return static_cast<size_t>(bytes);
}

int64_t max_loop_iterations() {
  return g_max_loop_iterations.load();
}
void set_max_loop_iterations(int64_t iterations) {
  g_max_loop_iterations.store(iterations);
}

}  // namespace onyx
