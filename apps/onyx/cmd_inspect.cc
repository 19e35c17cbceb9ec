// onyx inspect / draw / plot: looking at models and training runs.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "onyx/core/file_util.h"
#include "onyx/onnx/dot.h"
#include "onyx/onnx/model_io.h"
#include "onyx/tools/inspect.h"
#include "onyx/tools/plot.h"

namespace onyx::cli {

namespace {

std::string human(double v, const char* unit) {
  const char* prefixes[] = {"", "K", "M", "G", "T"};
  int p = 0;
  while (v >= 1000 && p < 4) v /= 1000, ++p;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f %s%s", v, prefixes[p], unit);
  return buf;
}

}  // namespace

Command add_inspect(CLI::App& app) {
  struct Opts {
    std::string model;
    int64_t batch = 1;
    bool per_node = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("inspect", "Parameters, FLOPs and memory of a model");
  cmd->add_option("model", o->model, "ONNX model")->required();
  cmd->add_option("--batch", o->batch, "size given to symbolic input dimensions")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--nodes", o->per_node, "list every node's MACs and FLOPs");
  return [o]() {
    ir::Model m = onnx_io::load_model(o->model);
    tools::Inspection r = tools::inspect(m, o->batch);
    std::cout << o->model << " (opset " << m.opset("") << ", batch " << o->batch << ")\n";
    for (const auto& in : r.inputs)
      std::cout << "input  " << in.name << ": " << in.type.str() << "\n";
    for (const auto& out : r.outputs)
      std::cout << "output " << out.name << ": " << out.type.str() << "\n";
    std::cout << "ops:";
    for (const auto& [op, n] : r.op_counts) std::cout << " " << op << " " << n;
    std::cout << "\nparameters: " << r.parameters << " (" << human(double(r.parameter_bytes), "B")
              << ")\n";
    if (o->per_node) {
      for (const auto& c : r.nodes) {
        if (!c.known) {
          std::printf("  %-48s shape unknown\n", c.node.c_str());
        } else {
          std::printf("  %-48s %14lld MACs %14lld FLOPs\n", c.node.c_str(),
                      static_cast<long long>(c.macs), static_cast<long long>(c.flops));
        }
      }
    }
    size_t unknown = 0;
    for (const auto& c : r.nodes) unknown += !c.known;
    std::cout << "MACs: " << r.macs << " (" << human(double(r.macs), "") << "), FLOPs: " << r.flops
              << " (" << human(double(r.flops), "") << ")"
              << (unknown ? " not counting " + std::to_string(unknown) + " node(s) of unknown shape"
                          : "")
              << "\n";
    std::cout << "activations: " << human(double(r.activation_bytes), "B") << " in all, peak "
              << human(double(r.peak_activation_bytes), "B") << "\n";
    return 0;
  };
}

Command add_draw(CLI::App& app) {
  struct Opts {
    std::string model, out;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("draw", "Draw a model's graph (Graphviz DOT or SVG)");
  cmd->add_option("model", o->model, "ONNX model")->required();
  cmd->add_option("-o,--output", o->out, "out.dot, or out.svg (through Graphviz's dot)")
      ->required();
  return [o]() {
    std::string dot = onnx_io::to_dot(onnx_io::load_model(o->model));
    std::string ext = std::filesystem::path(o->out).extension().string();
    if (ext == ".dot" || ext == ".gv") {
      write_file_atomic(o->out, dot);
    } else if (ext == ".svg") {
      write_file_atomic(o->out, onnx_io::dot_to_svg(dot));  // Graphviz's library, no shell
    } else {
      fail(ErrorKind::InvalidArgument, o->out, ": write .dot or .svg");
    }
    std::cout << "wrote " << o->out << "\n";
    return 0;
  };
}

Command add_plot(CLI::App& app) {
  struct Opts {
    std::string csv, out;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("plot", "Plot a training log (onyx train --loss-csv)");
  cmd->add_option("csv", o->csv, "the CSV onyx train wrote")->required();
  cmd->add_option("-o,--output", o->out, "the SVG to write")->required();
  return [o]() {
    write_file_atomic(o->out,
                      tools::training_curves_svg(read_file(o->csv, size_t{1} << 30), o->csv));
    std::cout << "wrote " << o->out << "\n";
    return 0;
  };
}

}  // namespace onyx::cli
