// The data a training or evaluation run reads, from the paths a user gives: the source
// opened (sources.h), images sized to the model's input, a validation set from a separate
// path, a seeded split, or an IDX directory's test split.
#pragma once

#include <string>
#include <vector>

#include "onyx/data/sources.h"
#include "onyx/ir/graph.h"

namespace onyx::train {

struct DataOptions {
  std::string path;              // as open_dataset takes it
  std::string val_path;          // validation data; empty: val_split, else IDX's test split
  double val_split = 0;          // a seeded random fraction of `path` held out
  std::string target = "label";  // a CSV file's target column
  std::string label = "labels";  // the labels feed (and the step's labels input)
  std::vector<float> mean, std;  // images: per-channel normalisation
  uint64_t seed = 0;
};

struct TrainingData {
  data::Dataset train, val;  // val empty: none
};

// `model` (an inference model) tells the image size and channels for image folders.
TrainingData load_training_data(const DataOptions& options, const ir::Model& model);
// The data to evaluate on: `path`'s test split for IDX directories, else `path` itself.
data::Dataset load_eval_data(const DataOptions& options, const ir::Model& model);

// One image as a one-sample dataset for `model`: "IDXFILE:index" (an image of an IDX
// file) or a PNG, JPEG or PGM file, sized and normalised for the model's image input.
data::Dataset load_image_sample(const std::string& spec, const DataOptions& options,
                                const ir::Model& model);

// The built-in models ("cnn", "mlp") sized for a dataset of "images" [N, C, H, W] and
// integer "labels" (classes: the largest label + 1).
ir::Model builtin_model(const std::string& name, const data::Dataset& train, uint64_t seed);
bool is_builtin_model(const std::string& name);

}  // namespace onyx::train
