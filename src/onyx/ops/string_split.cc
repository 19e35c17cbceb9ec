// StringSplit (opset 20): each string split on a delimiter, or on runs of whitespace, with
// the pieces padded with empty strings to a common count. The ONNX reference is Python's
// str.split(delimiter or None, maxsplit); this follows it exactly, on UTF-8 bytes.
#include <algorithm>
#include <string_view>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// The bytes of the whitespace character at s[i], 0 when there is none: Python's
// str.isspace set (ASCII \t-\r, \x1c-\x1f and space; U+0085, U+00A0, U+1680, U+2000-U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000) in UTF-8. Only lead bytes can match, so scanning
// valid UTF-8 byte by byte never splits inside a character.
size_t space_length(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = at(0);
  if (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f)) return 1;
  const size_t left = s.size() - i;
  if (c == 0xc2 && left >= 2) return at(1) == 0x85 || at(1) == 0xa0 ? 2 : 0;
  if (left < 3) return 0;
  if (c == 0xe1) return at(1) == 0x9a && at(2) == 0x80 ? 3 : 0;
  if (c == 0xe2 && at(1) == 0x80) {
    const unsigned char c2 = at(2);
    return (c2 >= 0x80 && c2 <= 0x8a) || c2 == 0xa8 || c2 == 0xa9 || c2 == 0xaf ? 3 : 0;
  }
  if (c == 0xe2 && at(1) == 0x81) return at(2) == 0x9f ? 3 : 0;
  if (c == 0xe3) return at(1) == 0x80 && at(2) == 0x80 ? 3 : 0;
  return 0;
}

// Python's str.split(delimiter, maxsplit) with maxsplit < 0 as no limit: consecutive
// delimiters delimit empty strings, and the rest after maxsplit splits is one piece.
void split_on(std::string_view s, std::string_view delimiter, int64_t maxsplit,
              std::vector<std::string_view>& pieces) {
  size_t start = 0;
  for (int64_t splits = 0; maxsplit < 0 || splits < maxsplit; ++splits) {
    size_t pos = s.find(delimiter, start);
    if (pos == std::string_view::npos) break;
    pieces.push_back(s.substr(start, pos - start));
    start = pos + delimiter.size();
  }
  pieces.push_back(s.substr(start));
}

// Python's str.split(None, maxsplit): runs of whitespace separate pieces, whitespace at
// either end gives none; after maxsplit splits the rest, less its leading whitespace, is
// one piece (its trailing whitespace kept).
void split_on_whitespace(std::string_view s, int64_t maxsplit,
                         std::vector<std::string_view>& pieces) {
  size_t i = 0;
  for (int64_t splits = 0;; ++splits) {
    while (i < s.size()) {
      size_t n = space_length(s, i);
      if (n == 0) break;
      i += n;
    }
    if (i == s.size()) return;
    if (maxsplit >= 0 && splits == maxsplit) {
      pieces.push_back(s.substr(i));
      return;
    }
    size_t start = i;
    while (i < s.size() && space_length(s, i) == 0) ++i;
    pieces.push_back(s.substr(start, i - start));
  }
}

class StringSplitKernel final : public Kernel {
 public:
  explicit StringSplitKernel(const KernelInfo& info)
      : delimiter_(info.node.attr_string("delimiter", "")),
        maxsplit_(info.node.attr_int("maxsplit", -1)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<StringSplitKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::String) {
      ctx.fail(ctx.input_name(0), " must be a string tensor, got ", dtype_name(x.dtype()));
    }
    // Every element's pieces in one list (views into X), with each element's count.
    std::vector<std::string_view> pieces;
    std::vector<int64_t> counts(static_cast<size_t>(x.numel()));
    const std::string* in = x.data<std::string>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      size_t before = pieces.size();
      if (delimiter_.empty()) {  // unset or "": whitespace, as the spec says
        split_on_whitespace(in[i], maxsplit_, pieces);
      } else {
        split_on(in[i], delimiter_, maxsplit_, pieces);
      }
      counts[static_cast<size_t>(i)] = static_cast<int64_t>(pieces.size() - before);
    }
    // The last axis is as long as the most pieces of any element (0 for an empty X).
    const int64_t width = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
    Shape y_shape = x.shape();
    y_shape.push_back(width);
    if (ctx.needs_output(0)) {
      std::string* y = ctx.allocate(0, DType::String, y_shape).data<std::string>();
      size_t next = 0;
      for (int64_t i = 0; i < x.numel(); ++i) {
        for (int64_t k = 0; k < width; ++k) {
          std::string& out = y[i * width + k];
          if (k < counts[static_cast<size_t>(i)]) {
            out.assign(pieces[next++]);
          } else {
            out.clear();  // padding
          }
        }
      }
    }
    if (ctx.needs_output(1)) {
      Tensor& z = ctx.allocate(1, DType::Int64, x.shape());
      std::copy(counts.begin(), counts.end(), z.data<int64_t>());
    }
  }

 private:
  std::string delimiter_;
  int64_t maxsplit_;
};

constexpr KernelDef kDefs[] = {
    {"", "StringSplit", 20, kLatest, &StringSplitKernel::make},
};

}  // namespace

void register_string_split_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
