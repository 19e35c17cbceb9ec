// onyx: declare, train, run and ship ONNX models. Errors print one line and exit 2.
#include <csignal>
#include <iostream>
#include <map>

#include "commands.h"
#include "onyx/core/error.h"
#include "onyx/core/limits.h"

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f), writes fail with EFBIG and onyx says which file,
  // keeping what was there, instead of dying of SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"onyx: a deep-learning library and tool whose one model format is ONNX"};
  app.require_subcommand(1);
  std::map<CLI::App*, onyx::cli::Command> commands;
  auto add = [&](onyx::cli::Command (*fn)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    onyx::cli::Command c = fn(app);
    commands[app.get_subcommands({})[before]] = std::move(c);
  };
  add(onyx::cli::add_run);
  add(onyx::cli::add_check);
  add(onyx::cli::add_conformance);
  add(onyx::cli::add_grad);
  add(onyx::cli::add_make_training);
  add(onyx::cli::add_train);
  add(onyx::cli::add_eval);
  add(onyx::cli::add_predict);
  add(onyx::cli::add_export);
  add(onyx::cli::add_inspect);
  add(onyx::cli::add_bench);
  add(onyx::cli::add_draw);
  add(onyx::cli::add_plot);
  add(onyx::cli::add_train_step);
  // The limits of core/limits.h, taken by every subcommand alike.
  std::string max_memory;
  int64_t max_loop_iterations = 0;
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->add_option("--max-memory", max_memory,
                    "most memory tensors may hold at once: bytes, or 512M, 4G (default: 3/4 of "
                    "what this machine gives the process)");
    sub->add_option("--max-loop-iterations", max_loop_iterations,
                    "stop any Loop node after N iterations with an error (default: no bound)")
        ->check(CLI::PositiveNumber);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    if (!max_memory.empty())
      onyx::set_memory_limit(onyx::parse_byte_size(max_memory, "--max-memory"));
    if (max_loop_iterations > 0) onyx::set_max_loop_iterations(max_loop_iterations);
    for (auto& [sub, run] : commands) {
      if (sub->parsed()) return run();
    }
  } catch (const onyx::Error& e) {
    if (e.kind() == onyx::ErrorKind::Interrupted) {
      std::cerr << "onyx: " << e.what() << "\n";
      return 130;  // as a shell reports a command SIGINT stopped
    }
    std::cerr << "onyx: error: " << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "onyx: error: out of memory\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "onyx: error: " << e.what() << "\n";
    return 2;
  }
  return 2;
}
