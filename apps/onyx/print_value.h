// Human-readable one-line summaries of values for CLI output.
#pragma once

#include <string>

#include "onyx/core/value.h"

namespace onyx::cli {

// "float [1,10] = 0.12, -3.4, ... (10 values)"
std::string describe_value(const Value& v, int max_values);

}  // namespace onyx::cli
