#include "nabla/kernels/dropout.h"

#include <omp.h>

#include <algorithm>

#include "nabla/kernels/parallel.h"

namespace nabla::kernels {
namespace {

// Chris Wellons' "lowbias32": a 32-bit bijection with near-ideal avalanche. Two rounds keyed by
// the two key halves decorrelate neighbouring indices and successive keys; being plain 32-bit
// integer arithmetic, the loop below vectorises (8 lanes of vpmulld on AVX2).
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x21f0aaadU;
  x ^= x >> 15;
  x *= 0x735a2d97U;
  x ^= x >> 15;
  return x;
}

// Elements [begin, end) of one 2^32-element block: the index's high word is fixed there, so the
// loop is pure 32-bit arithmetic and vectorises (restrict: the u8 mask could alias anything).
void dropout_block(const float* __restrict x, float* __restrict y, uint8_t* __restrict mask, int64_t begin, int64_t end,
                   uint64_t key, uint32_t threshold, float scale) {
  const uint32_t lo = uint32_t(key), high = uint32_t(key >> 32) ^ uint32_t(uint64_t(begin) >> 32) * 0x9e3779b9U;
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    const uint32_t h = mix32(mix32(uint32_t(i) ^ lo) ^ high);
    const float keep = h < threshold ? scale : 0.0f;
    y[i] = x[i] * keep;
    mask[i] = uint8_t(keep != 0.0f);
  }
}

void dropout_backward_range(const float* __restrict g, const uint8_t* __restrict mask, float* __restrict dx,
                            int64_t begin, int64_t end, float scale) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) dx[i] = g[i] * (mask[i] ? scale : 0.0f);
}

}  // namespace

void dropout_forward(const float* x, float* y, uint8_t* mask, int64_t n, uint64_t key, uint32_t threshold,
                     float scale) {
  for (int64_t begin = 0; begin < n; begin += int64_t(1) << 32) {
    const int64_t end = std::min(n, begin + (int64_t(1) << 32));
    if (end - begin <= kParallelGrain) {  // `omp parallel if (false)` would still enter the OpenMP runtime
      dropout_block(x, y, mask, begin, end, key, threshold, scale);
      continue;
    }
#pragma omp parallel
    {
      const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t per = ((end - begin + threads - 1) / threads + 63) / 64 * 64;
      dropout_block(x, y, mask, std::min(end, begin + t * per), std::min(end, begin + (t + 1) * per), key, threshold,
                    scale);
    }
  }
}

void dropout_backward(const float* g, const uint8_t* mask, float* dx, int64_t n, float scale) {
  if (n <= kParallelGrain) {
    dropout_backward_range(g, mask, dx, 0, n, scale);
    return;
  }
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t per = ((n + threads - 1) / threads + 63) / 64 * 64;
    dropout_backward_range(g, mask, dx, std::min(n, t * per), std::min(n, (t + 1) * per), scale);
  }
}

}  // namespace nabla::kernels
