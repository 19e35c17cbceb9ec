// --input NAME=FILE options (.pb TensorProto/SequenceProto or .npy) as session feeds.
#pragma once

#include <string>
#include <vector>

#include "onyx/runtime/session.h"

namespace onyx::cli {

runtime::NamedValues load_feeds(const std::vector<std::string>& specs,
                                const std::vector<ir::ValueInfo>& inputs);

}  // namespace onyx::cli
