// IDX data sets (the MNIST family's files) from memory, as read_idx reads them after
// inflating.
#include "fuzz_util.h"
#include "onyx/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  onyx::fuzz::guarded([&] { onyx::data::parse_idx(bytes, "fuzz-idx", onyx::fuzz::kMemoryLimit); });
  return 0;
}
