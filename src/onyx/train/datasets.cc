#include "onyx/train/datasets.h"

#include <algorithm>

#include "onyx/data/idx.h"
#include "onyx/data/image.h"
#include "onyx/nn/models.h"

namespace onyx::train {

namespace {

// Images for the model's first fed input of rank 4, [N, C, H, W]: its C, H and W where
// they are known.
data::SourceOptions source_options(const DataOptions& o, const ir::Model& model,
                                   const std::string& split) {
  data::SourceOptions s;
  s.split = split;
  s.csv.target = o.target;
  s.csv.labels = o.label;
  s.images.labels = o.label;
  s.images.transform.mean = o.mean;
  s.images.transform.std = o.std;
  for (const auto& in : model.graph->fed_inputs()) {
    if (!in.type.shape || in.type.shape->size() != 4) continue;
    const auto& d = *in.type.shape;
    s.images.images = in.name;
    if (d[1].value) s.images.transform.channels = *d[1].value;
    s.images.transform.height = d[2].value.value_or(0);
    s.images.transform.width = d[3].value.value_or(0);
    break;
  }
  // A flat input ([N, 784]) takes grey images.
  if (s.images.images == "images") s.images.transform.channels = 1;
  return s;
}

}  // namespace

TrainingData load_training_data(const DataOptions& o, const ir::Model& model) {
  TrainingData d;
  d.train = data::open_dataset(o.path, source_options(o, model, "train"));
  if (!o.val_path.empty()) {
    d.val = data::open_dataset(o.val_path, source_options(o, model, "test"));
  } else if (o.val_split > 0) {
    std::tie(d.train, d.val) = data::random_split(d.train, o.val_split, o.seed);
  } else if (data::is_mnist_dir(o.path)) {
    d.val = data::open_dataset(o.path, source_options(o, model, "test"));
  }
  return d;
}

data::Dataset load_eval_data(const DataOptions& o, const ir::Model& model) {
  return data::open_dataset(o.path, source_options(o, model, "test"));
}

data::Dataset load_image_sample(const std::string& spec, const DataOptions& o,
                                const ir::Model& model) {
  data::SourceOptions s = source_options(o, model, "test");
  size_t colon = spec.rfind(':');
  Tensor image;
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
    Tensor pixels = Tensor::empty(DType::UInt8, {all.dim(1), all.dim(2), 1});
    std::copy_n(all.data<uint8_t>() + index * per, per, pixels.data<uint8_t>());
    image = data::transform_image(pixels, s.images.transform, spec);
  } else {
    image = data::read_image(spec, s.images.transform);
  }
  Shape shape = image.shape();
  shape.insert(shape.begin(), 1);
  data::Dataset d(spec);
  d.add(s.images.images, image.reshape(shape));
  return d;
}

bool is_builtin_model(const std::string& name) {
  return name == "cnn" || name == "mlp";
}

ir::Model builtin_model(const std::string& name, const data::Dataset& train, uint64_t seed) {
  const Tensor* images = train.find("images");
  const Tensor* labels = train.find("labels");
  if (!images || images->rank() != 4 || !labels || !is_integer(labels->dtype())) {
    fail(ErrorKind::InvalidArgument, train.source(), ": the built-in models train on images ",
         "[N, C, H, W] with integer labels (an IDX directory or an image folder)");
  }
  int64_t channels = images->dim(1), size = images->dim(2);
  if (images->dim(3) != size || size % 4) {
    fail(ErrorKind::InvalidArgument, train.source(), ": the built-in models take square images ",
         "whose side is a multiple of 4, not ", shape_str(images->shape()));
  }
  int64_t classes = 0;
  for (int64_t i = 0; i < labels->numel(); ++i)
    classes = std::max(classes, static_cast<int64_t>(labels->element_as_double(i)) + 1);
  nn::Sequential net =
      name == "cnn" ? nn::cnn(channels, size, classes) : nn::mlp(channels, size, classes);
  return net.to_onnx({channels, size, size}, seed);
}

}  // namespace onyx::train
