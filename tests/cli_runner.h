// Runs the onyx CLI as a user would (a shell command) and captures its exit status and
// combined output, for the tests of commands.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace onyx::testing {

struct CliResult {
  int status;  // the exit status, -1 when the process did not exit normally
  std::string out;
};

// Any shell command line.
inline CliResult onyx_cli_raw(const std::string& command) {
  std::string cmd = command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline CliResult onyx_cli(const std::string& args) {
  return onyx_cli_raw(std::string(ONYX_CLI) + " " + args);
}

}  // namespace onyx::testing
