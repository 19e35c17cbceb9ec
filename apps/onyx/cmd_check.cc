// onyx check MODEL: ONNX checker, shape inference, and the nodes onyx cannot run.
#include <iostream>
#include <set>

#include "commands.h"
#include "onyx/onnx/checker.h"
#include "onyx/onnx/model_io.h"
#include "onyx/ops/registry.h"

namespace onyx::cli {

namespace {

// Walks the graph and its subgraphs, collecting nodes without a kernel.
void missing_kernels(const ir::Model& m, const ir::Graph& g, std::vector<std::string>& out) {
  for (const auto& n : g.nodes) {
    int64_t opset = m.opset(n.domain);
    if (opset == 0) {
      out.push_back(n.describe() + ": domain '" + n.domain + "' is not imported");
    } else if (!ops::registry().find(n.domain, n.op_type, opset)) {
      out.push_back(n.describe() + ": no kernel for " + n.op_type + " at opset " +
                    std::to_string(opset));
    }
    for (const auto& a : n.attributes) {
      if (a.g) missing_kernels(m, *a.g, out);
      for (const auto& sg : a.graphs) missing_kernels(m, *sg, out);
    }
  }
}

}  // namespace

Command add_check(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("check", "Validate a model and list nodes onyx cannot run");
  cmd->add_option("model", *model, "ONNX model file")->required();
  return [model]() {
    ir::Model m = onnx_io::load_model(*model);
    onnx_io::CheckerResult r = onnx_io::run_onnx_checker(*model);
    bool ok = true;
    if (r.checker_error.empty()) {
      std::cout << "checker: ok\n";
    } else {
      std::cout << "checker: FAILED: " << r.checker_error << "\n";
      ok = false;
    }
    if (r.shape_inference_error.empty()) {
      std::cout << "shape inference: ok (" << r.inferred_values << " intermediate values typed)\n";
    } else {
      std::cout << "shape inference: FAILED: " << r.shape_inference_error << "\n";
      ok = false;
    }
    std::vector<std::string> missing;
    missing_kernels(m, *m.graph, missing);
    if (missing.empty()) {
      std::cout << "kernels: every node has a kernel\n";
    } else {
      std::cout << "kernels: " << missing.size() << " node(s) cannot run:\n";
      for (const auto& s : missing) std::cout << "  " << s << "\n";
      ok = false;
    }
    std::cout << (ok ? "valid and runnable\n" : "not runnable\n");
    return ok ? 0 : 1;
  };
}

}  // namespace onyx::cli
