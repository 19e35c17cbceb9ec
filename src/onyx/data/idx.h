// IDX files (the MNIST family's format: big-endian header, magic 0 0 <type> <rank>, then
// the dimensions and the data), plain or gzip-compressed, and MNIST-layout datasets.
#pragma once

#include <string>
#include <string_view>

#include "onyx/core/tensor.h"
#include "onyx/data/dataset.h"

namespace onyx::data {

// The tensor an IDX file holds, in its own element type (uint8, int8, int16, int32,
// float32, float64). Throws naming the file on a bad magic, a truncated body or a size
// past `max_bytes`.
Tensor read_idx(const std::string& path, size_t max_bytes = size_t{2} << 30);
// The same from bytes in memory; errors start with `name`.
Tensor parse_idx(std::string_view bytes, const std::string& name,
                 size_t max_bytes = size_t{2} << 30);

// uint8 pixels scaled to [0, 1], as every image reader and loader here gives them.
void pixels_to_unit(const uint8_t* pixels, int64_t count, float* out);

// "train" or "test" from an MNIST-layout directory: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain
// or with .gz, the names possibly prefixed as EMNIST's are ("emnist-digits-train-...",
// "...-test-images-..."). Image and label counts must agree. Feeds: "images" float32
// [N, 1, H, W] scaled to [0, 1], "labels" int64 [N].
Dataset load_mnist(const std::string& dir, const std::string& split);

// Whether `dir` is a directory holding an IDX images file (as load_mnist looks for).
bool is_mnist_dir(const std::string& dir);

}  // namespace onyx::data
