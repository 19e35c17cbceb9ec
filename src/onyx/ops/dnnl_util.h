// What every oneDNN caller shares: one CPU engine, and single-threaded oneDNN calls.
#pragma once

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

namespace onyx::ops {

// oneDNN threads with OpenMP; each of onyx's threads asks it for one thread only, so that
// onyx's pool alone decides the parallelism (docs/DECISIONS.md).
inline void dnnl_single_thread() {
  thread_local bool done = false;
  if (!done) {
    omp_set_num_threads(1);
    done = true;
  }
}

inline const dnnl::engine& dnnl_cpu() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The plain (row-major) format of a tensor of `rank` dimensions.
inline dnnl::memory::format_tag plain_tag(size_t rank) {
  using Tag = dnnl::memory::format_tag;
  static constexpr Tag tags[] = {Tag::undef, Tag::a,     Tag::ab,    Tag::abc,
                                 Tag::abcd,  Tag::abcde, Tag::abcdef};
  return rank < std::size(tags) ? tags[rank] : Tag::undef;
}

// [a, b, spatial...], as oneDNN takes a convolution tensor's sizes.
inline dnnl::memory::dims dims_of(int64_t a, int64_t b, const std::vector<int64_t>& spatial) {
  dnnl::memory::dims d{a, b};
  d.insert(d.end(), spatial.begin(), spatial.end());
  return d;
}

}  // namespace onyx::ops
