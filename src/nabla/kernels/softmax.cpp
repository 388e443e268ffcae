#include "nabla/kernels/softmax.h"

#include <cmath>
#include <vector>

#include "nabla/kernels/parallel.h"
#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {

// NaN propagates (as in PyTorch): max_ps returns its second operand when either is NaN, so the
// running maximum goes second only when we want NaN to win.
float row_max(const float* x, int64_t n) {
  float m = -INFINITY;
  int64_t i = 0;
#ifdef NABLA_AVX2
  // GCC does not vectorise a float max reduction (NaN rules), so four explicit accumulators.
  __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
  for (; i + 32 <= n; i += 32) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
    m2 = _mm256_max_ps(_mm256_loadu_ps(x + i + 16), m2);
    m3 = _mm256_max_ps(_mm256_loadu_ps(x + i + 24), m3);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
  for (float l : lanes) m = (l > m || std::isnan(l)) ? l : m;
#endif
  for (; i < n; ++i) m = (x[i] > m || std::isnan(x[i])) ? x[i] : m;
  return m;
}

float row_exp_sum(const float* x, float* y, int64_t n, float shift) {
  float sum = 0;
  int64_t i = 0;
#ifdef NABLA_AVX2
  // Lane-wise sums, one set per width, added up in lane order at the end.
  auto exp_sum = [&](auto zero) {
    using V = decltype(zero);
    constexpr int64_t lanes = sizeof(V) / sizeof(float);
    V sums = zero;
    for (; i + lanes <= n; i += lanes) {
      const V e = vec::exp(vec::load<V>(x + i) - shift);
      vec::store(y + i, e);
      sums += e;
    }
    alignas(64) float lane_sums[16];
    vec::store(lane_sums, sums);
    for (int64_t l = 0; l < lanes; ++l) sum += lane_sums[l];
  };
#ifdef __AVX512F__
  exp_sum(__m512{});
#endif
  exp_sum(__m256{});
#endif
  for (; i < n; ++i) {
    y[i] = std::exp(x[i] - shift);
    sum += y[i];
  }
  return sum;
}

namespace {

void softmax_row(const float* x, float* y, int64_t n, bool log) {
  const float m = row_max(x, n);
  if (std::isinf(m) && m < 0) {  // a fully masked row: PyTorch gives NaN too, keep it explicit
    for (int64_t i = 0; i < n; ++i) y[i] = NAN;
    return;
  }
  const float sum = row_exp_sum(x, y, n, m);
  if (log) {
    // (x - m) - log(sum) stays exact for large logits where x - (m + log(sum)) would round.
    const float log_sum = std::log(sum);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - log_sum;
  } else {
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  }
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  const int64_t total = outer * n * inner;
  if (inner == 1) {
#pragma omp parallel for if (total > kParallelGrain) schedule(static)
    for (int64_t o = 0; o < outer; ++o) softmax_row(x + o * n, y + o * n, n, log);
    return;
  }
#pragma omp parallel if (total > kParallelGrain)
  {
    std::vector<float> row_in(n), row_out(n);
#pragma omp for collapse(2) schedule(static)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const float* base = x + o * n * inner + i;
        for (int64_t k = 0; k < n; ++k) row_in[k] = base[k * inner];
        softmax_row(row_in.data(), row_out.data(), n, log);
        float* out = y + o * n * inner + i;
        for (int64_t k = 0; k < n; ++k) out[k * inner] = row_out[k];
      }
  }
}

void softmax_backward(const float* y, const float* g, float* dx, int64_t outer, int64_t n, int64_t inner, bool log) {
  const int64_t total = outer * n * inner;
#pragma omp parallel for collapse(2) if (total > kParallelGrain) schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * n * inner + i;
      float dot = 0;
      if (log) {
        for (int64_t k = 0; k < n; ++k) dot += g[base + k * inner];
        for (int64_t k = 0; k < n; ++k) {
          const int64_t j = base + k * inner;
          dx[j] = g[j] - std::exp(y[j]) * dot;
        }
      } else {
        for (int64_t k = 0; k < n; ++k) dot += g[base + k * inner] * y[base + k * inner];
        for (int64_t k = 0; k < n; ++k) {
          const int64_t j = base + k * inner;
          dx[j] = y[j] * (g[j] - dot);
        }
      }
    }
}

}  // namespace nabla::kernels
