// onyx predict --model M --image F [--top K] [--classes NAMES]: classifies one image, given
// as IDXFILE:index (an image of an IDX set) or an image file (PNG, JPEG, PNM, WebP or JPEG
// 2000), printing the top classes with their softmax probabilities. With --data PATH
// -o OUT.csv|OUT.npy: the predictions of a whole dataset, written to a file.
#include <cstdio>
#include <sstream>

#include "commands.h"
#include "onyx/onnx/model_io.h"
#include "onyx/train/datasets.h"
#include "onyx/train/evaluate.h"
#include "onyx/train/metrics.h"

namespace onyx::cli {

namespace {

const std::vector<std::string> kFashion = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                           "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                           "Bag",         "Ankle boot"};

}  // namespace

Command add_predict(CLI::App& app) {
  struct Opts {
    std::string model, image, classes, out, output;
    int top = 3;
    int threads = 0;
    train::DataOptions data;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify an image, or predict a whole dataset");
  cmd->add_option("--model,-m", o->model, "ONNX model (exported or checkpoint)")->required();
  auto* image = cmd->add_option("--image,-i", o->image,
                                "IDXFILE:index, or a PNG, JPEG, PNM, WebP or JPEG 2000 file");
  auto* data = cmd->add_option("--data", o->data.path, "a dataset (as onyx train takes it)");
  image->excludes(data);
  cmd->add_option("-o,--output", o->out, "with --data: write the predictions here (.csv or .npy)");
  cmd->add_option("--prediction", o->output,
                  "the output to predict (default: the first float one)");
  cmd->add_option("--top", o->top, "classes to show")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--classes", o->classes,
                  "class names: fashion-mnist, or a comma-separated list (default: numbers)");
  cmd->add_option("--target", o->data.target, "CSV: the target column (not fed)")
      ->capture_default_str();
  cmd->add_option("--mean", o->data.mean, "images: per-channel mean")->delimiter(',');
  cmd->add_option("--std", o->data.std, "images: per-channel standard deviation")->delimiter(',');
  cmd->add_option("--threads", o->threads, "default: all cores");
  return [o]() {
    ir::Model model = onnx_io::load_model(o->model);
    if (o->image.empty() == o->data.path.empty()) {
      fail(ErrorKind::InvalidArgument, "predict needs --image or --data");
    }
    if (!o->data.path.empty()) {
      if (o->out.empty()) fail(ErrorKind::InvalidArgument, "--data needs -o OUT.csv or OUT.npy");
      data::Dataset set = train::load_eval_data(o->data, model);
      Tensor y = train::predict(model, set, o->output, o->threads);
      train::save_predictions(y, o->output.empty() ? "prediction" : o->output, o->out);
      std::printf("wrote %s: %lld predictions\n", o->out.c_str(), static_cast<long long>(y.dim(0)));
      return 0;
    }
    data::Dataset one = train::load_image_sample(o->image, o->data, model);
    Tensor y = train::predict(model, one, o->output, o->threads);
    std::vector<std::string> names;
    if (o->classes == "fashion-mnist") {
      names = kFashion;
    } else if (!o->classes.empty()) {
      std::stringstream ss(o->classes);
      for (std::string n; std::getline(ss, n, ',');) names.push_back(n);
    }
    for (const auto& [c, p] : train::top_classes(y, o->top)) {
      std::string name = c < static_cast<int64_t>(names.size()) ? " " + names[c] : "";
      std::printf("%lld%s: %.4f\n", static_cast<long long>(c), name.c_str(), p);
    }
    return 0;
  };
}

}  // namespace onyx::cli
