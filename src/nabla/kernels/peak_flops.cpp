#include "nabla/kernels/peak_flops.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "nabla/kernels/parallel.h"

namespace nabla::kernels {
namespace {

// The widest vectors the build targets (-march=native): a*b+c is one FMA per vector, 16 floats
// with AVX-512, else 8. Eight-float vectors on an AVX-512 CPU would report half its peak.
#ifdef __AVX512F__
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));
// Independent accumulators, more than FMA latency x ports, so the units never wait on a result.
constexpr int kChains = 12;
constexpr int64_t kInner = 1 << 16;

// Returns the sum so the compiler cannot drop the loop.
float fma_loop(int64_t rounds) {
  Vec acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = Vec{} + float(c) * 1e-3f;
  const Vec scale = Vec{} + 0.999999f, shift = Vec{} + 1e-7f;
  for (int64_t r = 0; r < rounds; ++r)
    for (int64_t i = 0; i < kInner; ++i)
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * scale + shift;
  float sum = 0;
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < kLanes; ++l) sum += acc[c][l];
  return sum;
}

}  // namespace

double measure_fp32_peak_gflops(double seconds) {
  using clock = std::chrono::steady_clock;
  const int threads = num_threads();
  volatile float sink = fma_loop(4);  // warm up: clocks ramp, pages and caches settle
  int64_t rounds = 8;
  for (;;) {
    const auto start = clock::now();
    float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    total += fma_loop(rounds);
    sink = sink + total;
    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    if (elapsed >= seconds || rounds > (int64_t(1) << 40)) {
      const double flops = 2.0 * kLanes * kChains * double(kInner) * double(rounds) * threads;
      return flops / elapsed / 1e9;
    }
    rounds = int64_t(double(rounds) * std::max(2.0, 1.2 * seconds / std::max(elapsed, 1e-6)));
  }
}

}  // namespace nabla::kernels
