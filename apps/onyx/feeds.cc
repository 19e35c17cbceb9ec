#include "feeds.h"

#include "onyx/onnx/value_files.h"

namespace onyx::cli {

runtime::NamedValues load_feeds(const std::vector<std::string>& specs,
                                const std::vector<ir::ValueInfo>& inputs) {
  runtime::NamedValues feeds;
  for (const auto& spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      fail(ErrorKind::InvalidArgument, "--input '", spec, "' must be NAME=FILE");
    }
    std::string name = spec.substr(0, eq);
    const ir::TypeInfo* hint = nullptr;  // lets a .pb file's element type be checked early
    for (const auto& in : inputs) {
      if (in.name == name) hint = &in.type;
    }
    feeds.emplace_back(name, onnx_io::load_value_file(spec.substr(eq + 1), hint));
  }
  return feeds;
}

}  // namespace onyx::cli
