#include "onyx/tools/conformance.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "onyx/autodiff/vjp.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"

namespace onyx::tools {

namespace fs = std::filesystem;

std::vector<std::string> find_cases(const std::vector<std::string>& roots) {
  std::vector<std::string> cases;
  for (const auto& root : roots) {
    if (!fs::is_directory(root)) fail(ErrorKind::Io, "'", root, "' is not a directory");
    if (fs::exists(fs::path(root) / "model.onnx")) {
      cases.push_back(root);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(root)) {
      if (entry.is_directory() && fs::exists(entry.path() / "model.onnx")) {
        found.push_back(entry.path().string());
      } else if (entry.is_directory()) {
        // A directory of suites: look one level further down.
        for (const auto& sub : fs::directory_iterator(entry.path())) {
          if (sub.is_directory() && fs::exists(sub.path() / "model.onnx")) {
            found.push_back(sub.path().string());
          }
        }
      }
    }
    std::sort(found.begin(), found.end());
    cases.insert(cases.end(), found.begin(), found.end());
  }
  return cases;
}

std::string case_name(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.parent_path().filename().string() + "/" + p.filename().string();
}

namespace {

std::vector<std::string> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() + 3 &&
        name.substr(name.size() - 3) == ".pb") {
      int index = std::atoi(name.substr(prefix.size()).c_str());
      files.emplace_back(index, e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (auto& f : files) out.push_back(f.second);
  return out;
}

std::string compare_tensors(const Tensor& e, const Tensor& a, double rtol, double atol,
                            bool values) {
  if (e.dtype() != a.dtype()) {
    return cat("element type ", dtype_name(a.dtype()), ", expected ", dtype_name(e.dtype()));
  }
  if (e.shape() != a.shape()) {
    return cat("shape ", shape_str(a.shape()), ", expected ", shape_str(e.shape()));
  }
  if (!values) return "";
  if (e.dtype() == DType::String) {
    for (int64_t i = 0; i < e.numel(); ++i) {
      if (e.data<std::string>()[i] != a.data<std::string>()[i]) {
        return cat("element ", i, " is '", a.data<std::string>()[i], "', expected '",
                   e.data<std::string>()[i], "'");
      }
    }
    return "";
  }
  if (e.dtype() == DType::Complex64 || e.dtype() == DType::Complex128) {
    Tensor er = Tensor::wrap(e.dtype() == DType::Complex64 ? DType::Float32 : DType::Float64,
                             {e.numel() * 2}, e.raw_data(), nullptr);
    Tensor ar = Tensor::wrap(er.dtype(), {a.numel() * 2}, a.raw_data(), nullptr);
    return compare_tensors(er, ar, rtol, atol, values);
  }
  int64_t bad = 0;
  int64_t first = -1;
  for (int64_t i = 0; i < e.numel(); ++i) {
    double x = e.element_as_double(i), y = a.element_as_double(i);
    if (std::isnan(x) && std::isnan(y)) continue;
    if (x == y) continue;  // covers infinities of the same sign
    if (!(std::fabs(x - y) <= atol + rtol * std::fabs(x))) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad) {
    return cat(bad, " of ", e.numel(), " elements differ; first at ", first, ": got ",
               a.element_as_double(first), ", expected ", e.element_as_double(first));
  }
  return "";
}

// The ONNX backend suite stores bfloat16 tensors as UINT16 bit patterns (NumPy has no
// bfloat16); like the ONNX test runner, read them back as bfloat16 where the model says so.
Value as_declared(Value v, const ir::TypeInfo& type) {
  if (v.is_tensor() && type.kind == ir::TypeInfo::Kind::Tensor && type.elem == DType::BFloat16 &&
      v.tensor().dtype() == DType::UInt16) {
    const Tensor& t = v.tensor();
    Tensor b = Tensor::empty(DType::BFloat16, t.shape());
    if (t.nbytes()) std::memcpy(b.raw_data(), t.raw_data(), t.nbytes());
    return Value(b);
  }
  return v;
}

}  // namespace

std::string compare_values(const Value& expected, const Value& actual, double rtol, double atol,
                           bool values) {
  if (expected.kind() != actual.kind()) {
    // An empty optional compares equal to a missing value; otherwise kinds must match.
    return "value kind differs from the expected one";
  }
  if (expected.is_tensor())
    return compare_tensors(expected.tensor(), actual.tensor(), rtol, atol, values);
  if (expected.is_sequence()) {
    if (expected.items().size() != actual.items().size()) {
      return cat("sequence of ", actual.items().size(), " items, expected ",
                 expected.items().size());
    }
    for (size_t i = 0; i < expected.items().size(); ++i) {
      std::string r = compare_values(expected.items()[i], actual.items()[i], rtol, atol, values);
      if (!r.empty()) return cat("item ", i, ": ", r);
    }
    return "";
  }
  if (expected.is_optional()) {
    if (!expected.inner() || !actual.inner()) {
      return (!expected.inner() && !actual.inner()) ? "" : "optional presence differs";
    }
    return compare_values(*expected.inner(), *actual.inner(), rtol, atol, values);
  }
  if (expected.is_map()) {
    std::string r = compare_tensors(expected.keys(), actual.keys(), 0, 0, values);
    if (!r.empty()) return "keys: " + r;
    r = compare_tensors(expected.values(), actual.values(), rtol, atol, values);
    return r.empty() ? "" : "values: " + r;
  }
  return "";
}

CaseResult run_case(const std::string& case_dir, const ConformanceOptions& options) {
  CaseResult result;
  result.name = case_name(case_dir);
  try {
    fs::path dir(case_dir);
    ir::Model model = onnx_io::load_model((dir / "model.onnx").string());
    autodiff::lower_gradient_ops(model);
    if (options.roundtrip) {
      std::string bytes = onnx_io::serialize_model(model);
      model = onnx_io::load_model_from_bytes(bytes, dir.string(), (dir / "model.onnx").string());
    }
    runtime::SessionOptions so;
    so.threads = options.threads;
    runtime::Session session(std::move(model), so);
    const ir::Graph& g = *session.model().graph;
    std::vector<const ir::ValueInfo*> feedable;
    for (const auto& in : g.inputs) {
      if (!g.find_initializer(in.name)) feedable.push_back(&in);
    }
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) {
        sets.push_back(e.path());
      }
    }
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) fail(ErrorKind::Io, "no test_data_set_* directories");
    for (const auto& set : sets) {
      runtime::NamedValues feeds;
      auto inputs = sorted_files(set, "input_");
      if (inputs.size() > feedable.size()) {
        // Inputs with initializers may be fed too; match by position over all inputs.
        feedable.clear();
        for (const auto& in : g.inputs) feedable.push_back(&in);
      }
      for (size_t i = 0; i < inputs.size() && i < feedable.size(); ++i) {
        feeds.emplace_back(feedable[i]->name,
                           as_declared(onnx_io::load_value_file(inputs[i], &feedable[i]->type),
                                       feedable[i]->type));
      }
      std::vector<Value> outs = session.run(feeds);
      auto expected_files = sorted_files(set, "output_");
      if (expected_files.size() != outs.size()) {
        result.status = CaseResult::Status::Fail;
        result.reason = cat(set.filename().string(), ": ", outs.size(), " outputs, expected ",
                            expected_files.size());
        return result;
      }
      for (size_t i = 0; i < outs.size(); ++i) {
        Value expected = as_declared(
            onnx_io::load_value_file(expected_files[i], &g.outputs[i].type), g.outputs[i].type);
        std::string diff =
            compare_values(expected, outs[i], options.rtol, options.atol, options.compare_values);
        if (!diff.empty()) {
          result.status = CaseResult::Status::Fail;
          result.reason =
              cat(set.filename().string(), ": output '", g.outputs[i].name, "': ", diff);
          return result;
        }
      }
    }
  } catch (const Error& e) {
    result.status = CaseResult::Status::Error;
    result.reason = e.what();
  } catch (const std::exception& e) {
    result.status = CaseResult::Status::Error;
    result.reason = std::string("unexpected exception: ") + e.what();
  }
  // Keep the reason on one line.
  std::replace(result.reason.begin(), result.reason.end(), '\n', ' ');
  return result;
}

bool is_random_case(const std::string& reason) {
  return reason.rfind("random", 0) == 0;
}

std::map<std::string, std::string> read_known_failures(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::Io, "cannot open known failures list '", path, "'");
  std::map<std::string, std::string> known;
  std::string line;
  while (std::getline(in, line)) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    size_t space = line.find_first_of(" \t", start);
    std::string name =
        line.substr(start, space == std::string::npos ? std::string::npos : space - start);
    std::string reason;
    if (space != std::string::npos) {
      size_t r = line.find_first_not_of(" \t", space);
      if (r != std::string::npos) reason = line.substr(r);
    }
    known[name] = reason;
  }
  return known;
}

}  // namespace onyx::tools
