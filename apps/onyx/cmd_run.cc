// onyx run MODEL [--input NAME=FILE]... [--output-dir DIR] [--threads N]
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "feeds.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"
#include "print_value.h"

namespace onyx::cli {

namespace {

std::string file_safe(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

}  // namespace

Command add_run(CLI::App& app) {
  struct Opts {
    std::string model;
    std::vector<std::string> inputs;
    std::string output_dir;
    int threads = 0;
    int repeat = 1;
    bool profile = false;
    int nodes = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("run", "Run a model on inputs from .pb or .npy files");
  cmd->add_option("model", o->model, "ONNX model file")->required();
  cmd->add_option("--input,-i", o->inputs, "NAME=FILE (.pb TensorProto/SequenceProto or .npy)");
  cmd->add_option("--output-dir,-o", o->output_dir, "write each output as <name>.pb here");
  cmd->add_option("--threads", o->threads, "intra-op threads (default: all cores)");
  cmd->add_option("--repeat", o->repeat, "run this many times (for --profile)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--profile", o->profile, "print the time spent per op type");
  cmd->add_option("--profile-nodes", o->nodes,
                  "also print the N slowest nodes of the main graph (implies --profile)")
      ->check(CLI::PositiveNumber);
  return [o]() {
    runtime::SessionOptions so;
    so.threads = o->threads;
    so.profile = o->profile || o->nodes > 0;
    ir::Model model = onnx_io::load_model(o->model);
    autodiff::lower_gradient_ops(model);  // training-domain Gradient nodes run as subgraphs
    runtime::Session session(std::move(model), so);
    runtime::NamedValues feeds = load_feeds(o->inputs, session.inputs());
    std::vector<Value> outs;
    for (int i = 0; i < o->repeat; ++i) outs = session.run(feeds);
    if (!o->output_dir.empty()) std::filesystem::create_directories(o->output_dir);
    for (size_t i = 0; i < outs.size(); ++i) {
      const std::string& name = session.outputs()[i].name;
      std::cout << name << ": " << describe_value(outs[i], 10) << "\n";
      if (!o->output_dir.empty()) {
        std::string path =
            (std::filesystem::path(o->output_dir) / (file_safe(name) + ".pb")).string();
        onnx_io::save_value_pb(outs[i], name, path);
      }
    }
    if (so.profile) {
      double total = 0;
      for (const auto& t : session.profile()) total += t.total_ms;
      std::cout << "profile over " << o->repeat << " run(s): op, total ms, calls, share\n";
      for (const auto& t : session.profile()) {
        std::printf("  %-28s %10.3f %8lld %6.1f%%\n", t.op_type.c_str(), t.total_ms,
                    static_cast<long long>(t.calls), total > 0 ? 100.0 * t.total_ms / total : 0.0);
      }
    }
    if (o->nodes > 0) {
      std::cout << "slowest nodes: total ms over the runs, share\n";
      auto nodes = session.node_profile();
      double total = 0;
      for (const auto& t : nodes) total += t.total_ms;
      for (size_t i = 0; i < nodes.size() && i < static_cast<size_t>(o->nodes); ++i) {
        std::printf("  %10.3f %6.1f%%  %s\n", nodes[i].total_ms,
                    total > 0 ? 100.0 * nodes[i].total_ms / total : 0.0, nodes[i].node.c_str());
      }
    }
    return 0;
  };
}

}  // namespace onyx::cli
