// What every oneDNN caller shares: one CPU engine, and single-threaded oneDNN calls.
#pragma once

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

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

}  // namespace onyx::ops
