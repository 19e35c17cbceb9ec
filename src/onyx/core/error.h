// onyx::Error: the one exception type. Its kind tells the CLI and callers what went
// wrong; its message says where (file, node, op, input).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace onyx {

// Interrupted: stopped on request (core/interrupt.h), not a fault of the input.
enum class ErrorKind {
  InvalidModel,
  InvalidArgument,
  Unsupported,
  Io,
  ResourceLimit,
  Internal,
  Interrupted
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Concatenates anything streamable; used to build error messages.
template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, Args&&... args) {
  throw Error(kind, cat(std::forward<Args>(args)...));
}

// Adds context in front of an Error's message while keeping its kind.
[[noreturn]] void rethrow_with_context(const Error& e, const std::string& context);

}  // namespace onyx
