// Matching a dataset's feeds to the inputs a model or training step is fed: by name, or
// the one feed left to the one input left; each feed reshaped to the input's per-sample
// shape when the value counts agree (an MNIST [N, 1, 28, 28] feed for a [N, 784] MLP)
// and cast to its element type (float targets to int64 class indices when integral).
#pragma once

#include <string>
#include <vector>

#include "onyx/data/dataset.h"
#include "onyx/ir/types.h"

namespace onyx::train {

// A dataset whose feeds are named like `inputs` and fit their types. `label` names the
// labels input (its feed may be called so, or "labels"). Errors say which feed does not
// fit which input, and why; `model` names the model in them.
data::Dataset fit_feeds(const data::Dataset& data, const std::vector<ir::ValueInfo>& inputs,
                        const std::string& label, const std::string& model);

}  // namespace onyx::train
