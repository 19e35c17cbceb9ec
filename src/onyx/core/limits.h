// Bounds on what a model's data decides, for models from anyone: the memory onyx's
// tensors may hold, and how many iterations a Loop may run. Process-wide: a Session sets
// them from its options (SessionOptions::memory_limit, ::max_loop_iterations), the CLI from
// --max-memory and --max-loop-iterations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace onyx {

// The memory budget: the most bytes all tensor buffers may hold at once (those a pool
// keeps for reuse included). An allocation past it is a ResourceLimit error, which the
// runtime turns into one naming the node, instead of an out-of-memory kill. Default: three
// quarters of the memory this process may use (the machine's, or its cgroup's when lower).
size_t memory_limit();
void set_memory_limit(size_t bytes);
// Bytes tensor buffers hold now.
size_t memory_in_use();
// The default above, for this machine.
size_t default_memory_limit();

// Accounting for Buffer: reserve throws ResourceLimit (and reserves nothing) past the limit.
void reserve_memory(size_t bytes);
void release_memory(size_t bytes);

// "512M", "2G", "1.5GiB", "4096" (bytes): K, M, G and T are powers of 1024, as free and
// ulimit count. InvalidArgument naming `what` otherwise.
size_t parse_byte_size(const std::string& text, const std::string& what);

// Most iterations one Loop node may run per execution; 0 (the default) is no bound, as
// the ONNX spec has none. A Loop reaching it is a ResourceLimit error naming the node.
int64_t max_loop_iterations();
void set_max_loop_iterations(int64_t iterations);

}  // namespace onyx
