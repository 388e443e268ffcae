#include "nabla/kernels/bf16_convert.h"

#include <algorithm>

#include "nabla/kernels/parallel.h"

namespace nabla::kernels {
namespace {

template <typename Body>
void for_range(int64_t n, Body body) {
  if (n <= kParallelGrain) {  // `omp parallel if (false)` would still enter the OpenMP runtime
    body(0, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < (n + kParallelGrain - 1) / kParallelGrain; ++c)
    body(c * kParallelGrain, std::min(n, (c + 1) * kParallelGrain));
}

}  // namespace

void f32_to_bf16(const float* x, bf16* y, int64_t n) {
  uint16_t* out = reinterpret_cast<uint16_t*>(y);
  for_range(n, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) out[i] = uint16_t(rounded_high_bits(x[i]) >> 16);
  });
}

void round_to_bf16(const float* x, float* y, int64_t n) {
  for_range(n, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) y[i] = std::bit_cast<float>(rounded_high_bits(x[i]));
  });
}

}  // namespace nabla::kernels
