// Lookups in the library's tables of named entries (losses, optimizers, schedules,
// metrics): each entry is a struct whose `name` is a C string.
#pragma once

#include <string>
#include <vector>

#include "onyx/core/error.h"

namespace onyx {

template <typename Def>
std::vector<std::string> names_of(const std::vector<Def>& table) {
  std::vector<std::string> names;
  for (const auto& d : table) names.push_back(d.name);
  return names;
}

// The entry named `name`, or an InvalidArgument error: "unknown <what> 'x' (a, b, c)".
template <typename Def>
const Def& find_named(const std::vector<Def>& table, const std::string& name, const char* what) {
  for (const auto& d : table) {
    if (name == d.name) return d;
  }
  std::string all;
  for (const auto& d : table) all += (all.empty() ? "" : ", ") + std::string(d.name);
  fail(ErrorKind::InvalidArgument, "unknown ", what, " '", name, "' (", all, ")");
}

}  // namespace onyx
