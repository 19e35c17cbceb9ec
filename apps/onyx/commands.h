// The onyx CLI: each subcommand registers its options on the app and returns the
// function that runs it (returning the exit status).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace onyx::cli {

using Command = std::function<int()>;

Command add_run(CLI::App& app);
Command add_check(CLI::App& app);
Command add_conformance(CLI::App& app);
Command add_grad(CLI::App& app);
Command add_make_training(CLI::App& app);
Command add_train_step(CLI::App& app);
Command add_train(CLI::App& app);
Command add_eval(CLI::App& app);
Command add_predict(CLI::App& app);
Command add_export(CLI::App& app);
Command add_inspect(CLI::App& app);
Command add_draw(CLI::App& app);
Command add_plot(CLI::App& app);
Command add_bench(CLI::App& app);

}  // namespace onyx::cli
