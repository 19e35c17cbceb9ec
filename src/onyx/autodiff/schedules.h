// Learning-rate schedules computed inside the training step from its step count, so a
// make-training graph carries its schedule to any runtime. Each follows the closed form
// of its torch.optim.lr_scheduler namesake, with k the number of scheduler steps taken
// (optimizer steps, or epochs when `every` is an epoch's steps).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "onyx/ir/builder.h"

namespace onyx::autodiff {

struct Schedule {
  std::string name;
  std::map<std::string, std::vector<double>> params;  // as given; defaults filled at build
  int64_t every = 0;  // optimizer steps per scheduler step (0: not said, which means 1)
};

struct ScheduleDef {
  const char* name;
  const char* help;
  // "name=default" for each parameter; no default: required. Lists are written a/b/c.
  std::vector<const char*> params;
  // lr after this schedule, from lr before it and k (float scalars).
  std::string (*build)(ir::GraphBuilder& b, const std::string& lr, const std::string& k,
                       const std::map<std::string, std::vector<double>>& params);
};

const std::vector<ScheduleDef>& schedules();
std::vector<std::string> schedule_names();

// "NAME[:key=value,...]", e.g. "cosine:T_max=1000,eta_min=1e-5", "multistep:milestones=30/80".
// Errors name the unknown schedule or parameter, or the value that is not a number.
Schedule parse_schedule(const std::string& spec);

// The learning rate at step count `count` (int64 scalar): `lr` through each schedule in
// turn (as torch's ChainedScheduler composes them). No schedules: `lr` itself.
std::string scheduled_lr(ir::GraphBuilder& b, const std::vector<Schedule>& schedules,
                         const std::string& lr, const std::string& count);

}  // namespace onyx::autodiff
