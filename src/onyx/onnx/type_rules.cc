#include "onyx/onnx/type_rules.h"

#include <algorithm>
#include <string_view>

namespace onyx::onnx_io {

namespace {

using ir::Dim;
using ir::TypeInfo;
using Out = std::vector<std::optional<TypeInfo>>;

// What a rule sees: the node, its graph (for constant inputs) and its inputs' types.
struct Query {
  const ir::Node& n;
  const ir::Graph& g;
  const ValueTypes& types;

  // Input i's type when it is a tensor of known element type; null otherwise.
  const TypeInfo* in(size_t i) const {
    auto it = n.has_input(i) ? types.find(n.input(i)) : types.end();
    return it == types.end() || it->second.kind != TypeInfo::Kind::Tensor ? nullptr : &it->second;
  }
  // Input i's dims when its rank is known.
  const std::vector<Dim>* dims(size_t i) const {
    const TypeInfo* t = in(i);
    return t && t->shape ? &*t->shape : nullptr;
  }
  std::optional<std::vector<int64_t>> constant_ints(size_t i) const {
    auto v = n.has_input(i) ? g.constant_value(n.input(i)) : std::nullopt;
    if (!v || !is_integer(v->dtype())) return std::nullopt;
    return v->to_int64s();
  }
};

Dim known(int64_t v) {
  return Dim{v, "", ""};
}

TypeInfo shaped(DType elem, std::vector<Dim> dims) {
  TypeInfo t = TypeInfo::tensor(elem);
  t.shape = std::move(dims);
  return t;
}

// Elementwise, or shaped like the first input (RMSNormalization's Y, TensorScatter's cache).
Out like_first(const Query& q) {
  const TypeInfo* x = q.in(0);
  return {x ? std::optional<TypeInfo>(*x) : std::nullopt};
}

// Bitwise And/Or/Xor: the inputs broadcast (numpy rules).
Out broadcast(const Query& q) {
  const TypeInfo *a = q.in(0), *b = q.in(1);
  if (!a || !b) return {std::nullopt};
  if (!a->shape || !b->shape) return {TypeInfo::tensor(a->elem)};
  const auto &x = *a->shape, &y = *b->shape;
  size_t r = std::max(x.size(), y.size());
  std::vector<Dim> out(r);
  for (size_t k = 0; k < r; ++k) {
    const Dim* dx = k + x.size() >= r ? &x[k + x.size() - r] : nullptr;
    const Dim* dy = k + y.size() >= r ? &y[k + y.size() - r] : nullptr;
    auto is_one = [](const Dim* d) { return d && d->value && *d->value == 1; };
    if (!dx || is_one(dx)) {
      out[k] = *dy;  // a missing or size-1 dim takes the other's
    } else if (!dy || is_one(dy)) {
      out[k] = *dx;
    } else {
      out[k] = dx->value ? *dx : *dy;
    }
  }
  return {shaped(a->elem, out)};
}

Out bit_cast(const Query& q) {  // the input's shape, the `to` type
  const TypeInfo* x = q.in(0);
  DType to;
  if (!x || !dtype_from_int(static_cast<int32_t>(q.n.attr_int("to", 0)), &to)) return {};
  TypeInfo y = *x;
  y.elem = to;
  return {y};
}

Out center_crop_pad(const Query& q) {  // the input's rank; the named axes' sizes from `shape`
  const TypeInfo* x = q.in(0);
  if (!x || !x->shape) return {};
  TypeInfo y = *x;
  int64_t rank = static_cast<int64_t>(x->shape->size());
  std::vector<int64_t> axes = q.n.attr_ints("axes");
  if (axes.empty()) {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  std::vector<int64_t> v = q.constant_ints(1).value_or(std::vector<int64_t>{});
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank) return {};
    (*y.shape)[static_cast<size_t>(a)] = i < v.size() ? known(v[i]) : Dim{};
  }
  return {y};
}

Out slice(const Query& q) {  // the data's rank; the sliced axes' sizes unknown
  const TypeInfo* x = q.in(0);
  if (!x || !x->shape) return {};
  TypeInfo y = *x;
  auto axes = q.constant_ints(3);
  int64_t rank = static_cast<int64_t>(x->shape->size());
  for (int64_t a = 0; a < rank; ++a) {
    bool sliced = !axes;
    for (int64_t v : axes.value_or(std::vector<int64_t>{}))
      sliced = sliced || v == a || v + rank == a;
    if (sliced) (*y.shape)[static_cast<size_t>(a)] = Dim{};
  }
  return {y};
}

Out reshape(const Query& q) {  // as many dims as the shape input has elements
  const TypeInfo* x = q.in(0);
  const std::vector<Dim>* shape = q.dims(1);
  if (!x || !shape || shape->size() != 1 || !(*shape)[0].value) return {};
  return {shaped(x->elem, std::vector<Dim>(static_cast<size_t>(*(*shape)[0].value)))};
}

Out roi_align(const Query& q) {  // [R, C, output_height, output_width]
  const TypeInfo* x = q.in(0);
  if (!x) return {};
  const std::vector<Dim>*xs = q.dims(0), *rois = q.dims(1);
  if (!xs || xs->size() != 4 || !rois || rois->size() != 2) return {TypeInfo::tensor(x->elem)};
  return {shaped(x->elem, {(*rois)[0], (*xs)[1], known(q.n.attr_int("output_height", 1)),
                           known(q.n.attr_int("output_width", 1))})};
}

Out stft(const Query& q) {  // [B, S, C] -> [B, frames, bins, 2]
  const TypeInfo* x = q.in(0);
  auto step = q.constant_ints(1);
  std::optional<int64_t> len;
  if (const std::vector<Dim>* w = q.dims(2); w && w->size() == 1) {
    len = (*w)[0].value;
  } else if (auto fl = q.constant_ints(3)) {
    len = fl->at(0);
  }
  if (!x || !x->shape || x->shape->size() != 3 || !step || !len) return {};
  const auto& xs = *x->shape;
  Dim frames{}, bins = known(q.n.attr_int("onesided", 1) ? *len / 2 + 1 : *len);
  int64_t st = step->at(0);
  if (xs[1].value && st > 0) frames = known(1 + (*xs[1].value - *len) / st);
  return {shaped(x->elem, {xs[0], frames, bins, known(2)})};
}

Out col2im(const Query& q) {  // [N, C * prod(block_shape), L] -> [N, C, *image_shape]
  const TypeInfo* x = q.in(0);
  auto image = q.constant_ints(1), block = q.constant_ints(2);
  if (!x || !image || !block) return {};
  if (!x->shape || x->shape->size() != 3) return {TypeInfo::tensor(x->elem)};
  int64_t cells = 1;
  for (int64_t b : *block) cells *= b;
  const Dim& c = (*x->shape)[1];
  std::vector<Dim> dims{(*x->shape)[0], c.value && cells > 0 ? known(*c.value / cells) : Dim{}};
  for (int64_t d : *image) dims.push_back(known(d));
  return {shaped(x->elem, dims)};
}

// DeformConv: [N, oC] and the offset's spatial sizes (it has one entry per output position).
Out deform_conv(const Query& q) {
  const TypeInfo* x = q.in(0);
  const std::vector<Dim>*w = q.dims(1), *off = q.dims(2);
  if (!x) return {};
  if (!x->shape || !w || !off || off->size() < 3) return {TypeInfo::tensor(x->elem)};
  std::vector<Dim> dims{(*x->shape)[0], (*w)[0]};
  dims.insert(dims.end(), off->begin() + 2, off->end());
  return {shaped(x->elem, dims)};
}

Out affine_grid(const Query& q) {  // size [N, C, H, W] -> [N, H, W, 2]; 3-D: [N, D, H, W, 3]
  const TypeInfo* theta = q.in(0);
  auto size = q.constant_ints(1);
  if (!theta) return {};
  if (!size || (size->size() != 4 && size->size() != 5)) return {TypeInfo::tensor(theta->elem)};
  std::vector<Dim> dims{known((*size)[0])};
  for (size_t d = 2; d < size->size(); ++d) dims.push_back(known((*size)[d]));
  dims.push_back(known(static_cast<int64_t>(size->size()) - 2));
  return {shaped(theta->elem, dims)};
}

// CausalConvWithState: Y like the input; present_state [B, C, k - 1].
Out causal_conv(const Query& q) {
  const TypeInfo* x = q.in(0);
  const std::vector<Dim>* w = q.dims(1);
  if (!x) return {};
  std::optional<TypeInfo> state;
  if (x->shape && x->shape->size() == 3 && w && w->size() == 3 && (*w)[2].value) {
    state = shaped(x->elem, {(*x->shape)[0], (*x->shape)[1], known(*(*w)[2].value - 1)});
  }
  return {*x, state};
}

// Attention: [B, Hq, Sq, Dv] (3-D: [B, Sq, Hq * Dv]), the present caches [B, Hkv, T, D] and
// [B, Hkv, T, Dv], the qk output [B, Hq, Sq, T].
Out attention(const Query& q) {
  const TypeInfo* qt = q.in(0);
  const std::vector<Dim>*qs = q.dims(0), *ks = q.dims(1), *vs = q.dims(2), *past = q.dims(4);
  if (!qt) return {};
  Out out(4);
  out[0] = TypeInfo::tensor(qt->elem);
  if (!qs || !ks || !vs || qs->size() != ks->size() || qs->size() != vs->size()) return out;
  auto times = [](const Dim& a, int64_t k) { return a.value ? known(*a.value * k) : Dim{}; };
  auto plus = [](const Dim& a, const Dim* b) {
    if (!b) return a;
    return a.value && b->value ? known(*a.value + *b->value) : Dim{};
  };
  Dim B = (*qs)[0];
  Dim hq, sq, hkv, skv, d, dv;
  if (qs->size() == 4) {
    hq = (*qs)[1], sq = (*qs)[2], hkv = (*ks)[1], skv = (*ks)[2], d = (*ks)[3], dv = (*vs)[3];
    out[0] = shaped(qt->elem, {B, hq, sq, dv});
  } else {
    int64_t h = q.n.attr_int("q_num_heads", 0), kv = q.n.attr_int("kv_num_heads", 0);
    if (h <= 0 || kv <= 0 || !(*ks)[2].value || !(*vs)[2].value) return out;
    hq = known(h), sq = (*qs)[1], hkv = known(kv), skv = (*ks)[1];
    d = known(*(*ks)[2].value / kv), dv = known(*(*vs)[2].value / kv);
    out[0] = shaped(qt->elem, {B, sq, times(dv, h)});
  }
  Dim total = plus(skv, past && past->size() == 4 ? &(*past)[2] : nullptr);
  out[1] = shaped(qt->elem, {B, hkv, total, d});
  out[2] = shaped(qt->elem, {B, hkv, total, dv});
  out[3] = shaped(qt->elem, {B, hq, sq, total});
  return out;
}

// LinearAttention: output [B, T, Hq * dv] from query [B, T, Hq * dk] and value
// [B, T, Hkv * dv]; present_state [B, Hkv, dk, dv] of past_state's type (T's without one).
Out linear_attention(const Query& q) {
  const TypeInfo* qt = q.in(0);
  if (!qt) return {};
  const TypeInfo* past = q.in(3);
  DType state = past ? past->elem : qt->elem;
  Out out{TypeInfo::tensor(qt->elem), TypeInfo::tensor(state)};
  const std::vector<Dim>*qs = q.dims(0), *vs = q.dims(2);
  int64_t hq = q.n.attr_int("q_num_heads", 0), hkv = q.n.attr_int("kv_num_heads", 0);
  if (!qs || !vs || qs->size() != 3 || vs->size() != 3 || hq <= 0 || hkv <= 0) return out;
  auto per_head = [](const Dim& d, int64_t heads) {
    return d.value && *d.value % heads == 0 ? known(*d.value / heads) : Dim{};
  };
  Dim dk = per_head((*qs)[2], hq), dv = per_head((*vs)[2], hkv);
  out[0] = shaped(qt->elem, {(*qs)[0], (*qs)[1], dv.value ? known(*dv.value * hq) : Dim{}});
  out[1] = shaped(state, {(*qs)[0], known(hkv), dk, dv});
  return out;
}

// FlexAttention: [B, Hq, L, Ev] from Q [B, Hq, L, E] and V [B, Hkv, S, Ev].
Out flex_attention(const Query& q) {
  const TypeInfo* qt = q.in(0);
  const std::vector<Dim>*qs = q.dims(0), *vs = q.dims(2);
  if (!qt) return {};
  if (!qs || !vs || qs->size() != 4 || vs->size() != 4) return {TypeInfo::tensor(qt->elem)};
  return {shaped(qt->elem, {(*qs)[0], (*qs)[1], (*qs)[2], (*vs)[3]})};
}

struct Rule {
  std::string_view domain, op_type;
  Out (*infer)(const Query&);
  RuleUse use = RuleUse::Untyped;
};

constexpr Rule kRules[] = {
    {"", "Mish", like_first},
    {"", "BitwiseNot", like_first},
    {"", "BitwiseAnd", broadcast},
    {"", "BitwiseOr", broadcast},
    {"", "BitwiseXor", broadcast},
    {"", "Gelu", like_first},
    {"", "Swish", like_first},
    {"", "SwiGLU", like_first},
    {"", "RMSNormalization", like_first},
    {"", "GroupNormalization", like_first},
    {"", "RotaryEmbedding", like_first},
    {"", "CumProd", like_first},
    {"", "TensorScatter", like_first},
    {"", "BitCast", bit_cast},
    {"", "CenterCropPad", center_crop_pad},
    {"", "Slice", slice, RuleUse::Unranked},
    {"", "Reshape", reshape, RuleUse::Unranked},
    {"", "RoiAlign", roi_align},
    {"", "STFT", stft, RuleUse::Always},
    {"", "Col2Im", col2im},
    {"", "DeformConv", deform_conv},
    {"", "AffineGrid", affine_grid},
    {"", "CausalConvWithState", causal_conv},
    {"", "Attention", attention},
    {"", "LinearAttention", linear_attention},
    {"ai.onnx.preview", "FlexAttention", flex_attention},
};

const Rule* find_rule(const ir::Node& n) {
  // (Not a ?: of "" and n.domain: that makes a temporary std::string the view outlives.)
  std::string_view domain = n.domain;
  if (domain == "ai.onnx") domain = "";
  for (const Rule& r : kRules) {
    if (r.domain == domain && r.op_type == n.op_type) return &r;
  }
  return nullptr;
}

}  // namespace

std::vector<std::optional<ir::TypeInfo>> own_output_types(const ir::Node& n, const ir::Graph& g,
                                                          const ValueTypes& types) {
  const Rule* r = find_rule(n);
  if (!r) return {};
  return r->infer(Query{n, g, types});
}

std::optional<RuleUse> own_rule_use(const ir::Node& n) {
  const Rule* r = find_rule(n);
  return r ? std::optional<RuleUse>(r->use) : std::nullopt;
}

}  // namespace onyx::onnx_io
