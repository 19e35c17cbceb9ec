#include "onyx/nn/models.h"

namespace onyx::nn {

Sequential cnn(int64_t channels, int64_t size, int64_t classes) {
  int64_t quarter = size / 4;  // two 2x2 poolings
  return Sequential{Conv2d(channels, 32, 3, {.padding = 1}),
                    ReLU(),
                    MaxPool2d(2),
                    Conv2d(32, 64, 3, {.padding = 1}),
                    ReLU(),
                    MaxPool2d(2),
                    Flatten(),
                    Linear(64 * quarter * quarter, 128),
                    ReLU(),
                    Linear(128, classes)};
}

Sequential mlp(int64_t channels, int64_t size, int64_t classes) {
  return Sequential{Flatten(), Linear(channels * size * size, 512),
                    ReLU(),    Linear(512, 256),
                    ReLU(),    Linear(256, classes)};
}

}  // namespace onyx::nn
