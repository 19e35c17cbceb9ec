// The common ground of the rewriters behind rewrite_for_gradients (unroll.h): emitting
// constants into the graph, reading the static types inference found, writing the rewritten
// node's outputs, and failing with the node named.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "onyx/autodiff/grad_context.h"
#include "onyx/ir/builder.h"

namespace onyx::autodiff {

// One copy of graph `body` appended to b's graph, its inputs reading `args`: everything the
// copy defines gets a fresh name starting with `prefix`, so copies and the enclosing graph
// never collide; reads of enclosing values keep their names. Returns the values of the
// body's outputs.
std::vector<std::string> inline_graph(ir::GraphBuilder& b, const ir::Graph& body,
                                      const std::vector<std::string>& args,
                                      const std::string& prefix);

class Rewriter {
 protected:
  // `verb` completes "cannot ... for differentiation" in errors ("unroll", "lower").
  Rewriter(ir::GraphBuilder& b, const ir::Node& n, const Types& types, const char* verb)
      : b_(b), n_(n), types_(types), verb_(verb) {}

  template <typename... Args>
  [[noreturn]] void fail_here(const Args&... args) const {
    fail(ErrorKind::Unsupported, n_.describe(), ": cannot ", verb_,
         " for differentiation: ", args...);
  }

  // A 1-D int64 constant, and a scalar one.
  std::string ints(const std::vector<int64_t>& v);
  std::string index(int64_t i);
  // A scalar constant of floating-point type `t` (float or double).
  std::string scalar(double v, DType t);
  // Static facts: dimensions (-1 where unknown), element type.
  std::optional<std::vector<int64_t>> dims_of(const std::string& v) const;
  DType elem(const std::string& v) const;
  // [B, Hkv, S, d] repeated to [B, Hq, S, d] for grouped-query attention: query head h reads
  // key/value head h / (Hq / Hkv). (Reshape rather than Unsqueeze, whose axes are an input
  // only from opset 13.)
  std::string share_heads(const std::string& x, int64_t kv_heads, int64_t q_heads, int64_t d);
  // Makes `value` the rewritten node's output `name` (an Identity that writes that name).
  void alias(const std::string& value, const std::string& name);

  // A [B, C, H, W] value seen as [B, C, H*W], for read_pixels.
  struct FlatImage {
    std::string values;  // [B, C, H*W]
    std::string spread;  // [1, C, 1]: expands per-pixel indices over the channels
    int64_t width;
  };
  FlatImage flat_image(const std::string& x, int64_t height, int64_t width);
  // Every channel of `image` at pixels (row, col): float coordinates inside the image, of one
  // shape [B, ...]. Returns [B, C, points] (GatherElements, whose rule scatters back).
  std::string read_pixels(const FlatImage& image, const std::string& row, const std::string& col);

  ir::GraphBuilder& b_;
  const ir::Node n_;  // a copy: the builder grows the node list
  const Types& types_;

 private:
  const char* verb_;
};

}  // namespace onyx::autodiff
