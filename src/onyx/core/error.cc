#include "onyx/core/error.h"

namespace onyx {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidModel:
      return "invalid model";
    case ErrorKind::InvalidArgument:
      return "invalid argument";
    case ErrorKind::Unsupported:
      return "unsupported";
    case ErrorKind::Io:
      return "i/o error";
    case ErrorKind::ResourceLimit:
      return "resource limit";
    case ErrorKind::Internal:
      return "internal error";
    case ErrorKind::Interrupted:
      return "interrupted";
  }
  return "error";
}

void rethrow_with_context(const Error& e, const std::string& context) {
  throw Error(e.kind(), context + ": " + e.what());
}

}  // namespace onyx
