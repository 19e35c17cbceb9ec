// onyx conformance ROOT... : run ONNX backend test cases; with --known-failures, a ratchet:
// unlisted failures and listed cases that now pass both fail the run.
#include <iostream>

#include "commands.h"
#include "onyx/tools/conformance.h"

namespace onyx::cli {

Command add_conformance(CLI::App& app) {
  struct Opts {
    std::vector<std::string> roots;
    std::string known;
    int threads = 1;
    bool roundtrip = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("conformance", "Run ONNX backend test cases");
  cmd->add_option("roots", o->roots, "case directories or directories of cases")->required();
  cmd->add_option("--known-failures", o->known, "list of cases expected to fail, with reasons");
  cmd->add_option("--threads", o->threads, "intra-op threads per session (default 1)");
  cmd->add_flag("--roundtrip", o->roundtrip, "save and reload each model before running it");
  return [o]() {
    std::map<std::string, std::string> known;
    if (!o->known.empty()) known = tools::read_known_failures(o->known);
    tools::ConformanceOptions opts;
    opts.threads = o->threads;
    opts.roundtrip = o->roundtrip;
    int passed = 0, failed = 0, known_failed = 0;
    for (const auto& dir : tools::find_cases(o->roots)) {
      std::string name = tools::case_name(dir);
      auto it = known.find(name);
      bool listed = it != known.end();
      bool random = listed && tools::is_random_case(it->second);
      opts.compare_values = !random;
      tools::CaseResult r = tools::run_case(dir, opts);
      if (random && r.status == tools::CaseResult::Status::Pass) {
        std::cout << "SKIP " << name << " known failure (" << it->second
                  << "): output types and shapes match; values not compared\n";
        ++known_failed;
        continue;
      }
      if (r.status == tools::CaseResult::Status::Pass) {
        if (listed) {
          std::cout << "FAIL " << r.name << " passes but is listed in known failures; remove it\n";
          ++failed;
        } else {
          std::cout << "PASS " << r.name << "\n";
          ++passed;
        }
        continue;
      }
      const char* tag = r.status == tools::CaseResult::Status::Fail ? "FAIL" : "ERROR";
      if (listed && !random) {
        std::cout << "SKIP " << r.name << " known failure (" << it->second << "): " << r.reason
                  << "\n";
        ++known_failed;
      } else {
        std::cout << tag << " " << r.name << " " << r.reason << "\n";
        ++failed;
      }
    }
    std::cout << passed << " passed, " << failed << " failed";
    if (!o->known.empty()) std::cout << ", " << known_failed << " skipped";
    std::cout << "\n";
    return failed == 0 ? 0 : 1;
  };
}

}  // namespace onyx::cli
