// The memory budget counts every tensor buffer held at once, pooled ones included, and
// an allocation past it is a ResourceLimit error; sizes parse as free and ulimit count.
#include <gtest/gtest.h>

#include "onyx/core/error.h"
#include "onyx/core/limits.h"
#include "onyx/core/tensor.h"

namespace onyx {
namespace {

// The limit set to what is in use now plus `headroom`, restored at the end of the test.
struct Budget {
  explicit Budget(size_t headroom) : saved(memory_limit()) {
    set_memory_limit(memory_in_use() + headroom);
  }
  ~Budget() { set_memory_limit(saved); }
  size_t saved;
};

bool fits(DType dtype, const Shape& shape, BufferPool* pool = nullptr) {
  try {
    Tensor::empty(dtype, shape, pool);
    return true;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ResourceLimit) << e.what();
    EXPECT_NE(std::string(e.what()).find("--max-memory"), std::string::npos) << e.what();
    return false;
  }
}

TEST(MemoryBudget, CountsEveryBufferHeldAtOnce) {
  Budget budget(1 << 20);
  size_t before = memory_in_use();
  {
    Tensor a = Tensor::empty(DType::Float32, {128, 1024});  // 512 KB
    EXPECT_EQ(memory_in_use(), before + (512 << 10));
    EXPECT_FALSE(fits(DType::Float32, {160, 1024})) << "640 KB more passes 1 MB";
    EXPECT_TRUE(fits(DType::Float32, {96, 1024}));
  }
  EXPECT_EQ(memory_in_use(), before) << "released with the tensor";
  EXPECT_TRUE(fits(DType::Float32, {160, 1024}));
}

TEST(MemoryBudget, PooledBuffersAreDroppedBeforeAnAllocationFails) {
  Budget budget(1 << 20);
  BufferPool pool;
  { Tensor a = Tensor::empty(DType::Float32, {192, 1024}, &pool); }  // 768 KB, now cached
  EXPECT_EQ(pool.cached_bytes(), size_t{768} << 10);
  // A shape the cached buffer cannot serve (it would waste more than half): the pool lets
  // it go rather than fail.
  EXPECT_TRUE(fits(DType::Float32, {80, 1024}, &pool));  // 320 KB: 1088 KB with the cached
  EXPECT_EQ(pool.cached_bytes(), size_t{320} << 10) << "only the new buffer, returned";
}

TEST(MemoryBudget, DefaultLeavesAQuarterOfTheMachine) {
  size_t d = default_memory_limit();
  EXPECT_GT(d, size_t{64} << 20);
  EXPECT_EQ(d % 3, 0u);
}

TEST(MemoryBudget, SizesParseLikeFreeAndUlimit) {
  EXPECT_EQ(parse_byte_size("4096", "--max-memory"), 4096u);
  EXPECT_EQ(parse_byte_size("512K", "--max-memory"), 512u << 10);
  EXPECT_EQ(parse_byte_size("512M", "--max-memory"), size_t{512} << 20);
  EXPECT_EQ(parse_byte_size("2G", "--max-memory"), size_t{2} << 30);
  EXPECT_EQ(parse_byte_size("1.5GiB", "--max-memory"), size_t{3} << 29);
  EXPECT_EQ(parse_byte_size("2gb", "--max-memory"), size_t{2} << 30);
  EXPECT_EQ(parse_byte_size("1T", "--max-memory"), size_t{1} << 40);
  for (const char* bad : {"", "G", "-1G", "0", "1X", "1 G", "nan", "1e30", "0.1"}) {
    try {
      parse_byte_size(bad, "--max-memory");
      ADD_FAILURE() << "parsed '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("--max-memory: '"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace onyx
