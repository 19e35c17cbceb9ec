// Ready-made networks: the ones `onyx train --model` names.
#pragma once

#include <string>

#include "onyx/nn/layers.h"

namespace onyx::nn {

// For 1x28x28 images and 10 classes (MNIST-like data).
// conv-relu-pool twice, then fc-relu-fc: ~91% on Fashion-MNIST after a few epochs.
Sequential cnn(int64_t channels = 1, int64_t size = 28, int64_t classes = 10);
// Flatten, 512, 256, classes.
Sequential mlp(int64_t channels = 1, int64_t size = 28, int64_t classes = 10);

}  // namespace onyx::nn
