#include "onyx/autodiff/schedules.h"

#include <charconv>
#include <cmath>
#include <numbers>

#include "onyx/core/named_table.h"

namespace onyx::autodiff {

namespace {

using ir::attr;
using Params = std::map<std::string, std::vector<double>>;

std::string k(ir::GraphBuilder& b, double v) {
  return b.constant("c", Tensor::scalar<float>(static_cast<float>(v)));
}

double one(const Params& p, const char* name) {
  return p.at(name).at(0);
}

// lr * gamma^floor(k / step_size)
std::string step_lr(ir::GraphBuilder& b, const std::string& lr, const std::string& kf,
                    const Params& p) {
  std::string e = b.op("Floor", {b.op("Div", {kf, k(b, one(p, "step_size"))})});
  return b.op("Mul", {lr, b.op("Pow", {k(b, one(p, "gamma")), e})});
}

// lr * gamma^(milestones reached)
std::string multistep_lr(ir::GraphBuilder& b, const std::string& lr, const std::string& kf,
                         const Params& p) {
  std::vector<float> ms;
  for (double m : p.at("milestones")) ms.push_back(static_cast<float>(m));
  std::string milestones =
      b.constant("milestones", Tensor::from_vector<float>({static_cast<int64_t>(ms.size())}, ms));
  std::string reached = b.op("Cast", {b.op("GreaterOrEqual", {kf, milestones})},
                             {attr("to", static_cast<int64_t>(DType::Float32))});
  std::string e = b.op("ReduceSum", {reached}, {attr("keepdims", int64_t{0})});
  return b.op("Mul", {lr, b.op("Pow", {k(b, one(p, "gamma")), e})});
}

std::string exponential_lr(ir::GraphBuilder& b, const std::string& lr, const std::string& kf,
                           const Params& p) {
  return b.op("Mul", {lr, b.op("Pow", {k(b, one(p, "gamma")), kf})});
}

// eta_min + (lr - eta_min) (1 + cos(pi k / T_max)) / 2
std::string cosine_lr(ir::GraphBuilder& b, const std::string& lr, const std::string& kf,
                      const Params& p) {
  double t_max = one(p, "T_max"), eta_min = one(p, "eta_min");
  if (t_max <= 0) fail(ErrorKind::InvalidArgument, "cosine schedule: T_max must be above 0");
  std::string angle = b.op("Mul", {kf, k(b, std::numbers::pi / t_max)});
  std::string half = b.op("Mul", {k(b, 0.5), b.op("Add", {k(b, 1), b.op("Cos", {angle})})});
  std::string span = b.op("Sub", {lr, k(b, eta_min)});
  return b.op("Add", {k(b, eta_min), b.op("Mul", {span, half})});
}

// lr * (start + (end - start) * min(k, total) / total): linear warm-up (or decay).
std::string linear_lr(ir::GraphBuilder& b, const std::string& lr, const std::string& kf,
                      const Params& p) {
  double start = one(p, "start_factor"), end = one(p, "end_factor"), total = one(p, "total_iters");
  if (total <= 0) fail(ErrorKind::InvalidArgument, "linear schedule: total_iters must be above 0");
  std::string done = b.op("Min", {kf, k(b, total)});
  std::string f = b.op("Add", {k(b, start), b.op("Mul", {done, k(b, (end - start) / total)})});
  return b.op("Mul", {lr, f});
}

const ScheduleDef& schedule_named(const std::string& name) {
  return find_named(schedules(), name, "learning-rate schedule");
}

std::vector<double> parse_numbers(const std::string& text, const std::string& context) {
  std::vector<double> out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find('/', at);
    if (end == std::string::npos) end = text.size();
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + end, v);
    if (ec != std::errc() || ptr != text.data() + end || !std::isfinite(v)) {
      fail(ErrorKind::InvalidArgument, context, ": '", text, "' is not a number");
    }
    out.push_back(v);
    at = end + 1;
  }
  return out;
}

// The parameters with defaults filled in; errors for unknown or missing ones.
Params complete(const Schedule& s) {
  const ScheduleDef& def = schedule_named(s.name);
  Params out;
  for (const char* spec : def.params) {
    std::string text = spec;
    size_t eq = text.find('=');
    std::string key = text.substr(0, eq);
    auto given = s.params.find(key);
    if (given != s.params.end()) {
      out[key] = given->second;
    } else if (eq != std::string::npos) {
      out[key] = parse_numbers(text.substr(eq + 1), s.name);
    } else {
      fail(ErrorKind::InvalidArgument, "schedule '", s.name, "' needs ", key, "=...");
    }
  }
  for (const auto& [key, v] : s.params) {
    if (!out.count(key)) {
      std::string known;
      for (const char* p : def.params) {
        std::string t = p;
        known += (known.empty() ? "" : ", ") + t.substr(0, t.find('='));
      }
      fail(ErrorKind::InvalidArgument, "schedule '", s.name, "' has no parameter '", key, "' (",
           known, ", every)");
    }
  }
  return out;
}

}  // namespace

const std::vector<ScheduleDef>& schedules() {
  static const std::vector<ScheduleDef> table = {
      {"step", "lr * gamma^floor(k / step_size) (StepLR)", {"step_size", "gamma=0.1"}, step_lr},
      {"multistep",
       "lr * gamma^(milestones passed) (MultiStepLR)",
       {"milestones", "gamma=0.1"},
       multistep_lr},
      {"exponential", "lr * gamma^k (ExponentialLR)", {"gamma"}, exponential_lr},
      {"cosine",
       "eta_min + (lr - eta_min)(1 + cos(pi k / T_max)) / 2 (CosineAnnealingLR)",
       {"T_max", "eta_min=0"},
       cosine_lr},
      {"linear",
       "lr * factor, the factor going linearly from start_factor to end_factor over "
       "total_iters (LinearLR: warm-up)",
       {"start_factor=0.3333333333333333", "end_factor=1", "total_iters=5"},
       linear_lr},
  };
  return table;
}

std::vector<std::string> schedule_names() {
  return names_of(schedules());
}

Schedule parse_schedule(const std::string& spec) {
  Schedule s;
  size_t colon = spec.find(':');
  s.name = spec.substr(0, colon);
  schedule_named(s.name);
  std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  size_t at = 0;
  while (!rest.empty() && at <= rest.size()) {
    size_t end = rest.find(',', at);
    if (end == std::string::npos) end = rest.size();
    std::string item = rest.substr(at, end - at);
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      fail(ErrorKind::InvalidArgument, "schedule '", spec, "': '", item, "' is not key=value");
    }
    std::string key = item.substr(0, eq);
    std::vector<double> v = parse_numbers(item.substr(eq + 1), "schedule '" + spec + "'");
    if (key == "every") {
      if (v.size() != 1 || v[0] < 1 || v[0] != std::floor(v[0])) {
        fail(ErrorKind::InvalidArgument, "schedule '", spec, "': every must be a positive integer");
      }
      s.every = static_cast<int64_t>(v[0]);
    } else {
      s.params[key] = v;
    }
    at = end + 1;
  }
  complete(s);  // reports unknown and missing parameters now, not at build time
  return s;
}

std::string scheduled_lr(ir::GraphBuilder& b, const std::vector<Schedule>& list,
                         const std::string& lr, const std::string& count) {
  if (list.empty()) return lr;
  std::string steps = b.op("Cast", {count}, {attr("to", static_cast<int64_t>(DType::Float32))});
  std::string out = lr;
  for (const Schedule& s : list) {
    std::string kf = steps;
    if (s.every > 1) kf = b.op("Floor", {b.op("Div", {steps, k(b, static_cast<double>(s.every))})});
    out = schedule_named(s.name).build(b, out, kf, complete(s));
  }
  return out;
}

}  // namespace onyx::autodiff
