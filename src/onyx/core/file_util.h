// File helpers: whole-file reads with a size limit, and atomic writes (temporary file,
// flush, fsync, rename) so that a crash never leaves a half-written file behind.
#pragma once

#include <string>

namespace onyx {

std::string read_file(const std::string& path, size_t max_bytes = size_t{4} << 30);
void write_file_atomic(const std::string& path, const std::string& bytes);
// The directory holding `path` ("." for a bare file name).
std::string directory_of(const std::string& path);

}  // namespace onyx
