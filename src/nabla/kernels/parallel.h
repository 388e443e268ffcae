// Threading: OpenMP (oneDNN's own runtime, so our kernels and its GEMMs never fight for cores).
// The thread count comes from NABLA_NUM_THREADS, default all cores.
#pragma once
#include <cstdint>

namespace nabla {

// The most threads nabla runs (NABLA_NUM_THREADS, --threads): far past any core count it meets.
constexpr int kMaxThreads = 1024;

int num_threads();
void set_num_threads(int n);

// Work below this many elements runs on one thread: spinning up a team costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;

}  // namespace nabla
