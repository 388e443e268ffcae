#include "nabla/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nabla/kernels/parallel.h"
#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {

// NaN propagates (as in PyTorch).
float row_max(const float* x, int64_t n) {
  float m = -INFINITY;
  int64_t i = 0;
#ifdef __AVX512F__
  // GCC does not vectorise a float max reduction (NaN rules), so explicit accumulators, and NaN
  // is tracked apart (max_ps drops a NaN operand). The tail is one masked vector (its missing
  // lanes -inf): attention's causal rows end anywhere.
  const __m512 lowest = _mm512_set1_ps(-INFINITY);
  __m512 m0 = lowest, m1 = lowest;
  __mmask16 nan = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
    nan |= _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q);  // either one NaN
    m0 = vec::max(a, m0);
    m1 = vec::max(b, m1);
  }
  for (; i < n; i += 16) {
    const __m512 a = _mm512_mask_loadu_ps(lowest, __mmask16((1u << std::min<int64_t>(16, n - i)) - 1), x + i);
    nan |= _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
    m0 = vec::max(a, m0);
  }
  if (nan) return NAN;
  // The lanes' maximum as a tree (a scalar chain over 16 lanes costs more than a short row).
  alignas(64) float l[16];
  _mm512_store_ps(l, vec::max(m0, m1));
  const __m256 half = _mm256_max_ps(_mm256_load_ps(l), _mm256_load_ps(l + 8));
  __m128 quarter = _mm_max_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
  quarter = _mm_max_ps(quarter, _mm_movehl_ps(quarter, quarter));
  m = _mm_cvtss_f32(_mm_max_ss(quarter, _mm_movehdup_ps(quarter)));
#elif defined(NABLA_AVX2)
  __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0, nan = _mm256_setzero_ps();
  for (; i + 32 <= n; i += 32) {
    const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8), c = _mm256_loadu_ps(x + i + 16),
                 d = _mm256_loadu_ps(x + i + 24);
    nan = _mm256_or_ps(nan, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q), _mm256_cmp_ps(c, d, _CMP_UNORD_Q)));
    m0 = _mm256_max_ps(a, m0);
    m1 = _mm256_max_ps(b, m1);
    m2 = _mm256_max_ps(c, m2);
    m3 = _mm256_max_ps(d, m3);
  }
  if (_mm256_movemask_ps(nan)) return NAN;
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
  for (float l : lanes) m = std::max(m, l);
#endif
  for (; i < n; ++i) m = (x[i] > m || std::isnan(x[i])) ? x[i] : m;
  return m;
}

float row_exp_sum(const float* x, float* y, int64_t n, float shift) {
  float sum = 0;
  int64_t i = 0;
#ifdef NABLA_AVX2
  // Lane-wise sums, added up in lane order at the end. With AVX-512 the tail is one masked
  // vector; with AVX2 it is scalar.
  using V = vec::WideFloats;
  V sums{};
  for (; i + vec::kWideLanes <= n; i += vec::kWideLanes) {
    const V e = vec::exp(vec::load<V>(x + i) - shift);
    vec::store(y + i, e);
    sums += e;
  }
#ifdef __AVX512F__
  if (i < n) {
    const __mmask16 tail = __mmask16((1u << (n - i)) - 1);
    const V e = _mm512_maskz_mov_ps(tail, vec::exp(_mm512_maskz_loadu_ps(tail, x + i) - shift));
    _mm512_mask_storeu_ps(y + i, tail, e);
    sums += e;
    i = n;
  }
#endif
  alignas(64) float lane_sums[vec::kWideLanes];
  vec::store(lane_sums, sums);
  for (float l : lane_sums) sum += l;
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
