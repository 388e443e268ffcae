#include "nabla/kernels/peak_flops.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "nabla/kernels/parallel.h"

namespace nabla::kernels {
namespace {

// Eight-float vectors: with -march=native a*b+c compiles to one AVX2/AVX-512 FMA per vector.
typedef float Vec8 __attribute__((vector_size(32)));
// Independent accumulators, more than FMA latency x ports, so the units never wait on a result.
constexpr int kChains = 12;
constexpr int64_t kInner = 1 << 16;

// Returns the sum so the compiler cannot drop the loop.
float fma_loop(int64_t rounds) {
  Vec8 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = Vec8{} + float(c) * 1e-3f;
  const Vec8 scale = Vec8{} + 0.999999f, shift = Vec8{} + 1e-7f;
  for (int64_t r = 0; r < rounds; ++r)
    for (int64_t i = 0; i < kInner; ++i)
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * scale + shift;
  float sum = 0;
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < 8; ++l) sum += acc[c][l];
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
      const double flops = 2.0 * 8 * kChains * double(kInner) * double(rounds) * threads;
      return flops / elapsed / 1e9;
    }
    rounds = int64_t(double(rounds) * std::max(2.0, 1.2 * seconds / std::max(elapsed, 1e-6)));
  }
}

}  // namespace nabla::kernels
