// onyx plot: the loss and test-accuracy curves of a training run (the CSV `onyx train
// --loss-csv` writes) as an SVG picture.
#pragma once

#include <string>

namespace onyx::tools {

// `csv`: "step,epoch,loss,test_accuracy" rows; loss rows leave the accuracy empty and
// epoch rows the loss. `source` names the file in errors.
std::string training_curves_svg(const std::string& csv, const std::string& source);

}  // namespace onyx::tools
