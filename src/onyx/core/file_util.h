// File helpers: whole-file reads with a size limit, and atomic writes (temporary file,
// flush, fsync, rename) so that a crash never leaves a half-written file behind.
#pragma once

#include <string>

namespace onyx {

// Fails naming `path` when it exists but is not a regular file (a FIFO or a device, whose
// open or read could block forever or never end). A missing path is left to the caller.
void require_regular_file(const std::string& path);
// The size of the file at `path`; fails naming it when it is missing, not a regular file or
// over `max_bytes`.
size_t checked_file_size(const std::string& path, size_t max_bytes);
std::string read_file(const std::string& path, size_t max_bytes = size_t{4} << 30);
void write_file_atomic(const std::string& path, const std::string& bytes);
// The directory holding `path` ("." for a bare file name).
std::string directory_of(const std::string& path);

}  // namespace onyx
