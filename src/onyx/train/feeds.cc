#include "onyx/train/feeds.h"

#include <algorithm>
#include <cmath>

#include "onyx/core/error.h"

namespace onyx::train {

namespace {

std::string feed_str(const data::Feed& f) {
  return "'" + f.name + "' " + dtype_name(f.value.dtype()) + shape_str(f.value.shape());
}

std::string input_str(const ir::ValueInfo& in) {
  return "'" + in.name + "' " + in.type.str();
}

// The input's shape for these samples: its per-sample dims from the feed's values.
Tensor fit_shape(const Tensor& v, const data::Feed& f, const ir::ValueInfo& in,
                 const std::string& model) {
  if (!in.type.shape) return v;
  const std::vector<ir::Dim>& dims = *in.type.shape;
  if (dims.empty()) {
    fail(ErrorKind::InvalidArgument, model, ": input ", input_str(in),
         " is a scalar, so it cannot take a batch of samples from feed ", feed_str(f));
  }
  int64_t per = v.rank() ? v.numel() / std::max<int64_t>(1, v.dim(0)) : 1;
  bool known = std::all_of(dims.begin() + 1, dims.end(), [](const ir::Dim& d) { return d.value; });
  if (known) {
    Shape shape{v.dim(0)};
    int64_t want = 1;
    for (size_t i = 1; i < dims.size(); ++i) {
      shape.push_back(*dims[i].value);
      want *= *dims[i].value;
    }
    if (want != per) {
      fail(ErrorKind::InvalidArgument, model, ": feed ", feed_str(f), " has ", per,
           " values a sample; input ", input_str(in), " takes ", want);
    }
    return v.reshape(shape);
  }
  // Symbolic dims past the batch: the ranks must agree and the known dims match.
  bool fits = static_cast<size_t>(v.rank()) == dims.size();
  for (size_t i = 1; fits && i < dims.size(); ++i)
    fits = !dims[i].value || *dims[i].value == v.dim(static_cast<int64_t>(i));
  if (!fits) {
    fail(ErrorKind::InvalidArgument, model, ": feed ", feed_str(f), " does not fit input ",
         input_str(in));
  }
  return v;
}

Tensor fit_type(const Tensor& v, const data::Feed& f, const ir::ValueInfo& in,
                const std::string& model) {
  DType want = in.type.elem;
  if (want == DType::Undefined || want == v.dtype()) return v;
  auto numeric = [](DType t) { return is_floating(t) || is_integer(t) || t == DType::Bool; };
  if (!numeric(v.dtype()) || !numeric(want)) {
    fail(ErrorKind::InvalidArgument, model, ": feed ", feed_str(f), " cannot feed input ",
         input_str(in));
  }
  Tensor out = Tensor::empty(want, v.shape());
  int64_t per = v.numel() / std::max<int64_t>(1, v.rank() ? v.dim(0) : 1);
  visit_numeric(want, [&](auto zero) {
    using T = decltype(zero);
    T* o = out.data<T>();
    for (int64_t i = 0; i < v.numel(); ++i) {
      double x = v.element_as_double(i);
      if (!is_floating(want) && x != std::floor(x)) {
        fail(ErrorKind::InvalidArgument, model, ": feed ", feed_str(f), " holds ", x, " (sample ",
             i / std::max<int64_t>(1, per), "), but input ", input_str(in), " takes integers");
      }
      o[i] = from_double<T>(x);
    }
  });
  return out;
}

}  // namespace

data::Dataset fit_feeds(const data::Dataset& data, const std::vector<ir::ValueInfo>& inputs,
                        const std::string& label, const std::string& model) {
  std::vector<const data::Feed*> chosen(inputs.size(), nullptr);
  std::vector<bool> used(data.feeds().size(), false);
  auto take = [&](size_t i, const std::string& name) {
    for (size_t f = 0; f < data.feeds().size(); ++f) {
      if (!used[f] && data.feeds()[f].name == name) {
        chosen[i] = &data.feeds()[f];
        used[f] = true;
        return;
      }
    }
  };
  for (size_t i = 0; i < inputs.size(); ++i) take(i, inputs[i].name);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!chosen[i] && inputs[i].name == label) take(i, "labels");
  }
  // The one input left and the one feed left belong together.
  std::vector<size_t> inputs_left, feeds_left;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!chosen[i]) inputs_left.push_back(i);
  }
  for (size_t f = 0; f < used.size(); ++f) {
    const std::string& n = data.feeds()[f].name;
    if (!used[f] && n != label && n != "labels") feeds_left.push_back(f);
  }
  if (inputs_left.size() == 1 && feeds_left.size() == 1 && inputs[inputs_left[0]].name != label) {
    chosen[inputs_left[0]] = &data.feeds()[feeds_left[0]];
    inputs_left.clear();
  }
  if (!inputs_left.empty()) {
    std::string want, have;
    for (size_t i : inputs_left) want += (want.empty() ? "" : ", ") + input_str(inputs[i]);
    for (const auto& f : data.feeds()) have += (have.empty() ? "" : ", ") + feed_str(f);
    fail(ErrorKind::InvalidArgument, data.source(), ": no feed for ", model, "'s input ", want,
         " (the data has ", have, "; name each array like the input it feeds)");
  }
  data::Dataset out(data.source());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const data::Feed& f = *chosen[i];
    Tensor v = fit_type(fit_shape(f.value, f, inputs[i], model), f, inputs[i], model);
    out.add(inputs[i].name, v);
  }
  return out;
}

}  // namespace onyx::train
