// onyx: declare, train, run and ship ONNX models. Errors print one line and exit 2.
#include <iostream>
#include <map>

#include "commands.h"
#include "onyx/core/error.h"

int main(int argc, char** argv) {
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
    for (auto& [sub, run] : commands) {
      if (sub->parsed()) return run();
    }
  } catch (const onyx::Error& e) {
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
