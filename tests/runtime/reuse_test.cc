// Kernels may write into an input's buffer when their node is its last reader
// (KernelContext::reuse_input). Values read again later, graph inputs and values sharing
// a buffer must come out unchanged.
#include <gtest/gtest.h>

#include "onyx/ir/builder.h"
#include "onyx/runtime/session.h"

namespace onyx {
namespace {

ir::TypeInfo floats(int64_t n) {
  return ir::TypeInfo::tensor(DType::Float32, Shape{n});
}

TEST(InputReuse, ScatterLeavesValuesStillNeededIntact) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder b(*m.graph);
  std::string x = b.input("x", floats(4));
  std::string idx = b.constant("idx", Tensor::from_vector<int64_t>({2}, {1, 3}));
  std::string upd = b.constant("upd", Tensor::from_vector<float>({2}, {10, 20}));
  // Scattered into the graph input x: x must stay as the caller gave it.
  std::string into_input = b.op("ScatterElements", {x, idx, upd});
  // Into t = x + 1, which an Add reads afterwards: t must keep its values for it.
  std::string t = b.op("Add", {x, b.constant("one", Tensor::scalar<float>(1))});
  std::string into_shared = b.op("ScatterElements", {t, idx, upd});
  std::string after = b.op("Mul", {t, b.constant("two", Tensor::scalar<float>(2))});
  // Into u = x * 3, read by nothing else: the scatter may take u's buffer.
  std::string u = b.op("Mul", {x, b.constant("three", Tensor::scalar<float>(3))});
  std::string into_last = b.op("ScatterElements", {u, idx, upd}, {ir::attr("reduction", "add")});
  for (const auto& o : {into_input, into_shared, after, into_last}) b.output(o);
  runtime::Session s(m);
  Tensor in = Tensor::from_vector<float>({4}, {1, 2, 3, 4});
  for (int run = 0; run < 2; ++run) {  // the second run reuses pooled buffers
    auto out = s.run({{"x", in}});
    EXPECT_EQ(in.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(out[0].tensor().to_vector<float>(), (std::vector<float>{1, 10, 3, 20}));
    EXPECT_EQ(out[1].tensor().to_vector<float>(), (std::vector<float>{2, 10, 4, 20}));
    EXPECT_EQ(out[2].tensor().to_vector<float>(), (std::vector<float>{4, 6, 8, 10}));
    EXPECT_EQ(out[3].tensor().to_vector<float>(), (std::vector<float>{3, 16, 9, 32}));
  }
}

}  // namespace
}  // namespace onyx
