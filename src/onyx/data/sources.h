// Where datasets come from: NumPy files, CSV tables, image folders and MNIST-layout IDX
// directories, each read into a Dataset of named feeds. `open_dataset` picks the reader
// from the path (the table in sources.cc), so the CLI and Python take one PATH argument.
#pragma once

#include <string>
#include <vector>

#include "onyx/data/dataset.h"
#include "onyx/data/image.h"

namespace onyx::data {

// An .npz archive (NumPy's zip of .npy members, stored or deflated): one feed per member,
// named like the member without ".npy". Read through libzip.
Dataset load_npz(const std::string& path);
// A directory of .npy files: one feed per file, named by the file's stem.
Dataset load_npy_dir(const std::string& dir);

struct CsvOptions {
  std::string target = "label";       // the target column's header name
  std::string features = "features";  // the feed holding the other columns, float32 [N, F]
  std::string labels = "labels";      // the feed holding the target column, float32 [N]
};
// A CSV file with a header row: every column but the target is a numeric feature, in the
// file's order. Empty or non-numeric cells are errors naming the line and column.
Dataset load_csv(const std::string& path, const CsvOptions& options = {});

struct ImageFolderOptions {
  ImageTransform transform = {};
  std::string images = "images", labels = "labels";  // feed names
};
// ROOT/<class>/*.{png,jpg,jpeg}: classes sorted by name (as torchvision's ImageFolder),
// files sorted by name within each; images float32 [N, C, H, W], labels int64 [N].
struct ImageFolder {
  Dataset data;
  std::vector<std::string> classes;
};
ImageFolder load_image_folder(const std::string& root, const ImageFolderOptions& options);

// The options every source may use; open_dataset passes each reader what it needs.
struct SourceOptions {
  std::string split = "train";  // IDX directories: train or test
  CsvOptions csv;
  ImageFolderOptions images;
};

// PATH as the CLI takes it: `X.npz`, `csv:FILE` or `X.csv`, a directory of class
// folders of images, an MNIST-layout IDX directory, or a directory of .npy files.
Dataset open_dataset(const std::string& path, const SourceOptions& options = {});

}  // namespace onyx::data
