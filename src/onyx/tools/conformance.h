// Runs ONNX backend test cases (model.onnx + test_data_set_*/{input,output}_*.pb) and
// compares outputs with the backend runner's tolerances.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "onyx/core/value.h"

namespace onyx::tools {

struct ConformanceOptions {
  int threads = 1;
  bool roundtrip = false;  // save and reload the model before running it
  double rtol = 1e-3;
  double atol = 1e-7;
  // False for cases whose outputs are random: only the outputs' count, types and shapes are
  // compared.
  bool compare_values = true;
};

struct CaseResult {
  enum class Status { Pass, Fail, Error };
  Status status = Status::Pass;
  std::string name;    // "<suite>/<case>"
  std::string reason;  // empty on pass
};

// Case directories under each root: a root that holds model.onnx is itself a case.
std::vector<std::string> find_cases(const std::vector<std::string>& roots);
// "<suite>/<case>" for a case directory.
std::string case_name(const std::string& case_dir);
CaseResult run_case(const std::string& case_dir, const ConformanceOptions& options);

// Compares an actual value with the expected one; returns "" when they match. With
// `values` false, only kinds, types and shapes are compared.
std::string compare_values(const Value& expected, const Value& actual, double rtol, double atol,
                           bool values = true);

// A known failure whose reason starts with "random" is a case with random outputs: it is
// run with values uncompared, and its outputs' types and shapes must still match.
bool is_random_case(const std::string& reason);

// known_failures.txt: "<suite>/<case> <reason>" per line, '#' comments.
std::map<std::string, std::string> read_known_failures(const std::string& path);

}  // namespace onyx::tools
