// onyx predict --model M --image F [--top K] [--classes NAMES]: classifies one image, given
// as IDXFILE:index (an image of an IDX set) or a PNG or PGM file, printing the top classes with
// their softmax probabilities.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>

#include "commands.h"
#include "onyx/core/file_util.h"
#include "onyx/data/idx.h"
#include "onyx/data/image.h"
#include "onyx/onnx/model_io.h"
#include "onyx/runtime/session.h"

namespace onyx::cli {

namespace {

const std::vector<std::string> kFashion = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                           "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                           "Bag",         "Ankle boot"};

// IDXFILE:index, or a PNG or PGM file, as [H, W] in [0, 1].
Tensor read_image(const std::string& spec) {
  size_t colon = spec.rfind(':');
  if (colon != std::string::npos && colon + 1 < spec.size() &&
      std::all_of(spec.begin() + static_cast<long>(colon) + 1, spec.end(), ::isdigit)) {
    std::string file = spec.substr(0, colon);
    int64_t index = std::stoll(spec.substr(colon + 1));
    Tensor all = data::read_idx(file);
    if (all.dtype() != DType::UInt8 || all.rank() != 3) {
      fail(ErrorKind::InvalidArgument, file, ": expected uint8 images [N, H, W]");
    }
    if (index >= all.dim(0)) {
      fail(ErrorKind::InvalidArgument, file, ": image ", index, " requested, the file holds ",
           all.dim(0));
    }
    int64_t per = all.dim(1) * all.dim(2);
    Tensor t = Tensor::empty(DType::Float32, {all.dim(1), all.dim(2)});
    data::pixels_to_unit(all.data<uint8_t>() + index * per, per, t.data<float>());
    return t;
  }
  return data::read_image(spec);
}

}  // namespace

Command add_predict(CLI::App& app) {
  struct Opts {
    std::string model, image, classes;
    int top = 3;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify one image with a model");
  cmd->add_option("--model,-m", o->model, "ONNX model (exported or checkpoint)")->required();
  cmd->add_option("--image,-i", o->image, "IDXFILE:index, or a PNG or PGM file")->required();
  cmd->add_option("--top", o->top, "classes to show")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--classes", o->classes,
                  "class names: fashion-mnist, or a comma-separated list (default: numbers)");
  return [o]() {
    ir::Model model = onnx_io::load_model(o->model);
    Tensor image = read_image(o->image);
    runtime::Session session(model);
    const ir::ValueInfo& in = session.inputs()[0];
    // [1, 1, H, W] for image models, [1, H*W] for flat ones, as the input declares.
    Shape shape{1, 1, image.dim(0), image.dim(1)};
    if (in.type.shape && in.type.shape->size() == 2) shape = {1, image.numel()};
    Tensor x = image.reshape(shape);
    Tensor y = session.run({{in.name, x}})[0].tensor();
    if (y.dtype() != DType::Float32 || y.numel() < 1) {
      fail(ErrorKind::InvalidArgument, o->model, ": expected float class scores");
    }
    std::vector<std::string> names;
    if (o->classes == "fashion-mnist") {
      names = kFashion;
    } else if (!o->classes.empty()) {
      std::stringstream ss(o->classes);
      for (std::string n; std::getline(ss, n, ',');) names.push_back(n);
    }
    // Softmax of the scores.
    int64_t k = y.numel();
    std::vector<double> p(static_cast<size_t>(k));
    double mx = *std::max_element(y.data<float>(), y.data<float>() + k), sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += p[i] = std::exp(y.data<float>()[i] - mx);
    std::vector<int64_t> order(static_cast<size_t>(k));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
    for (int64_t r = 0; r < std::min<int64_t>(o->top, k); ++r) {
      int64_t c = order[static_cast<size_t>(r)];
      std::string name = c < static_cast<int64_t>(names.size()) ? " " + names[c] : "";
      std::printf("%lld%s: %.4f\n", static_cast<long long>(c), name.c_str(), p[c] / sum);
    }
    return 0;
  };
}

}  // namespace onyx::cli
