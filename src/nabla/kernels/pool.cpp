#include "nabla/kernels/pool.h"

#include <algorithm>
#include <cmath>

#include "nabla/kernels/parallel.h"
#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {

namespace {
// v replaces the running maximum if larger, or if it is the window's first NaN (NaN propagates).
inline void keep_max(float v, int32_t i, float& best, int32_t& best_i) {
  const bool take = (v > best) | ((v != v) & (best == best));
  best = take ? v : best;
  best_i = take ? i : best_i;
}

// With Relu, relu(max) — zero where the max is not positive, and no argmax there, so no gradient
// flows: relu's derivative is 0 at and below 0. !(best <= 0) keeps a NaN max, as relu() does.
template <bool Relu>
inline void apply_relu(float& best, int32_t& best_i) {
  if constexpr (Relu) {
    best_i = best > 0 ? best_i : -1;
    best = !(best <= 0) ? best : 0.0f;
  }
}

#ifdef NABLA_AVX2
// keep_max on 8 lanes: take v where it is larger, or where it is the first NaN.
inline void keep_max8(__m256 v, __m256i i, __m256& best, __m256i& best_i) {
  const __m256 take =
      _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ),
                   _mm256_and_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), _mm256_cmp_ps(best, best, _CMP_ORD_Q)));
  best = _mm256_blendv_ps(best, v, take);
  best_i = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(best_i), _mm256_castsi256_ps(i), take));
}

// Columns 0, 2, ..., 14 and 1, 3, ..., 15 of the 16 floats at `row`; of only the first `count`
// (< 16) when a row ends sooner: the others read as 0.
inline void deinterleave16(const float* row, int64_t count, __m256& even, __m256& odd) {
  const __m256 a = count >= 16 ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, vec::first_lanes_mask(count));
  const __m256 b =
      count >= 16 ? _mm256_loadu_ps(row + 8) : _mm256_maskload_ps(row + 8, vec::first_lanes_mask(count - 8));
  even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))),
                                                _MM_SHUFFLE(3, 1, 2, 0)));
  odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))),
                                               _MM_SHUFFLE(3, 1, 2, 0)));
}
#endif

// The common 2x2 / stride 2 / no padding window, explicitly vectorised 8 windows at a time, the
// row's last few windows with masked loads and stores. The compiler had kept the stride-2 loads
// scalar, with a branch per comparison that random data mispredicts: 0.6 ms for LeNet's
// 64x6x28x28, 15% of its step.
template <bool Relu>
void max_pool2x2_forward(const PoolShape& s, const float* x, float* y, int32_t* argmax) {
#pragma omp parallel for if (s.planes * s.h * s.w > kParallelGrain) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p) {
    const float* xp = x + p * s.h * s.w;
    for (int64_t oh = 0; oh < s.ho; ++oh) {
      const float* r0 = xp + 2 * oh * s.w;
      const float* r1 = r0 + s.w;
      const int32_t i0 = int32_t(2 * oh * s.w);
      float* yo = y + (p * s.ho + oh) * s.wo;
      int32_t* ao = argmax + (p * s.ho + oh) * s.wo;
#ifdef NABLA_AVX2
      const __m256i lanes = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14), one = _mm256_set1_epi32(1),
                    row = _mm256_set1_epi32(int32_t(s.w));
      for (int64_t ow = 0; ow < s.wo; ow += 8) {
        const int64_t windows = std::min<int64_t>(8, s.wo - ow);
        const __m256i i00 = _mm256_add_epi32(_mm256_set1_epi32(i0 + int32_t(2 * ow)), lanes);
        const __m256i i10 = _mm256_add_epi32(i00, row);
        __m256 e0, o0, e1, o1;
        deinterleave16(r0 + 2 * ow, 2 * windows, e0, o0);
        deinterleave16(r1 + 2 * ow, 2 * windows, e1, o1);
        __m256 best = e0;
        __m256i best_i = i00;
        keep_max8(o0, _mm256_add_epi32(i00, one), best, best_i);
        keep_max8(e1, i10, best, best_i);
        keep_max8(o1, _mm256_add_epi32(i10, one), best, best_i);
        if constexpr (Relu) {  // as apply_relu: no argmax where the max is not positive; NaN stays
          const __m256 zero = _mm256_setzero_ps();
          const __m256 positive = _mm256_cmp_ps(best, zero, _CMP_GT_OQ);
          best = _mm256_and_ps(best, _mm256_cmp_ps(best, zero, _CMP_NLE_UQ));
          best_i = _mm256_castps_si256(
              _mm256_blendv_ps(_mm256_castsi256_ps(_mm256_set1_epi32(-1)), _mm256_castsi256_ps(best_i), positive));
        }
        if (windows == 8) {
          _mm256_storeu_ps(yo + ow, best);
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(ao + ow), best_i);
        } else {
          const __m256i mask = vec::first_lanes_mask(windows);
          _mm256_maskstore_ps(yo + ow, mask, best);
          _mm256_maskstore_epi32(ao + ow, mask, best_i);
        }
      }
#else
      const int32_t i1 = int32_t(i0 + s.w);
      for (int64_t ow = 0; ow < s.wo; ++ow) {
        const int32_t c = int32_t(2 * ow);
        float best = r0[c];
        int32_t best_i = i0 + c;
        keep_max(r0[c + 1], i0 + c + 1, best, best_i);
        keep_max(r1[c], i1 + c, best, best_i);
        keep_max(r1[c + 1], i1 + c + 1, best, best_i);
        apply_relu<Relu>(best, best_i);
        yo[ow] = best;
        ao[ow] = best_i;
      }
#endif
    }
  }
}

template <bool Relu>
void max_pool_any_forward(const PoolShape& s, const float* x, float* y, int32_t* argmax) {
#pragma omp parallel for if (s.planes * s.h * s.w > kParallelGrain) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p) {
    const float* xp = x + p * s.h * s.w;
    for (int64_t oh = 0; oh < s.ho; ++oh)
      for (int64_t ow = 0; ow < s.wo; ++ow) {
        const int64_t h0 = oh * s.sh - s.ph, w0 = ow * s.sw - s.pw;
        float best = -INFINITY;
        int32_t best_i = -1;
        for (int64_t i = std::max<int64_t>(h0, 0); i < std::min(h0 + s.kh, s.h); ++i)
          for (int64_t j = std::max<int64_t>(w0, 0); j < std::min(w0 + s.kw, s.w); ++j) {
            const float v = xp[i * s.w + j];
            if (v > best || std::isnan(v) || best_i < 0) {
              best = v;
              best_i = int32_t(i * s.w + j);
              if (std::isnan(v)) goto done;
            }
          }
      done:
        apply_relu<Relu>(best, best_i);
        const int64_t o = (p * s.ho + oh) * s.wo + ow;
        y[o] = best;
        argmax[o] = best_i;
      }
  }
}
}  // namespace

void max_pool2d_forward(const PoolShape& s, const float* x, float* y, int32_t* argmax, bool relu) {
  const bool windows_inside = 2 * s.ho <= s.h && 2 * s.wo <= s.w;  // not so under ceil_mode
  if (s.kh == 2 && s.kw == 2 && s.sh == 2 && s.sw == 2 && s.ph == 0 && s.pw == 0 && windows_inside)
    return relu ? max_pool2x2_forward<true>(s, x, y, argmax) : max_pool2x2_forward<false>(s, x, y, argmax);
  return relu ? max_pool_any_forward<true>(s, x, y, argmax) : max_pool_any_forward<false>(s, x, y, argmax);
}

void max_pool2d_backward(const PoolShape& s, const float* dy, const int32_t* argmax, float* dx) {
#pragma omp parallel for if (s.planes * s.h * s.w > kParallelGrain) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p) {
    float* dxp = dx + p * s.h * s.w;
    std::fill(dxp, dxp + s.h * s.w, 0.0f);
    for (int64_t o = p * s.ho * s.wo; o < (p + 1) * s.ho * s.wo; ++o)
      if (argmax[o] >= 0) dxp[argmax[o]] += dy[o];
  }
}

namespace {
// PyTorch's window bounds and divisor for average pooling.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  float divisor;
};
AvgWindow avg_window(const PoolShape& s, int64_t oh, int64_t ow, bool count_include_pad) {
  int64_t h0 = oh * s.sh - s.ph, w0 = ow * s.sw - s.pw;
  int64_t h1 = std::min(h0 + s.kh, s.h + s.ph), w1 = std::min(w0 + s.kw, s.w + s.pw);
  const int64_t padded_size = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, s.h);
  w1 = std::min(w1, s.w);
  return {h0, h1, w0, w1, float(count_include_pad ? padded_size : (h1 - h0) * (w1 - w0))};
}
}  // namespace

void avg_pool2d_forward(const PoolShape& s, const float* x, float* y, bool count_include_pad) {
#pragma omp parallel for if (s.planes * s.h * s.w > kParallelGrain) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p) {
    const float* xp = x + p * s.h * s.w;
    for (int64_t oh = 0; oh < s.ho; ++oh)
      for (int64_t ow = 0; ow < s.wo; ++ow) {
        AvgWindow win = avg_window(s, oh, ow, count_include_pad);
        float sum = 0;
        for (int64_t i = win.h0; i < win.h1; ++i)
          for (int64_t j = win.w0; j < win.w1; ++j) sum += xp[i * s.w + j];
        y[(p * s.ho + oh) * s.wo + ow] = sum / win.divisor;
      }
  }
}

void avg_pool2d_backward(const PoolShape& s, const float* dy, float* dx, bool count_include_pad) {
#pragma omp parallel for if (s.planes * s.h * s.w > kParallelGrain) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p) {
    float* dxp = dx + p * s.h * s.w;
    std::fill(dxp, dxp + s.h * s.w, 0.0f);
    for (int64_t oh = 0; oh < s.ho; ++oh)
      for (int64_t ow = 0; ow < s.wo; ++ow) {
        AvgWindow win = avg_window(s, oh, ow, count_include_pad);
        const float g = dy[(p * s.ho + oh) * s.wo + ow] / win.divisor;
        for (int64_t i = win.h0; i < win.h1; ++i)
          for (int64_t j = win.w0; j < win.w1; ++j) dxp[i * s.w + j] += g;
      }
  }
}

namespace {
int64_t adaptive_start(int64_t i, int64_t out, int64_t in) { return (i * in) / out; }
int64_t adaptive_end(int64_t i, int64_t out, int64_t in) { return ((i + 1) * in + out - 1) / out; }
}  // namespace

void adaptive_avg_pool2d_forward(int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo, const float* x,
                                 float* y) {
#pragma omp parallel for if (planes * h * w > kParallelGrain) schedule(static)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < ho; ++oh)
      for (int64_t ow = 0; ow < wo; ++ow) {
        const int64_t h0 = adaptive_start(oh, ho, h), h1 = adaptive_end(oh, ho, h);
        const int64_t w0 = adaptive_start(ow, wo, w), w1 = adaptive_end(ow, wo, w);
        float sum = 0;
        for (int64_t i = h0; i < h1; ++i)
          for (int64_t j = w0; j < w1; ++j) sum += x[(p * h + i) * w + j];
        y[(p * ho + oh) * wo + ow] = sum / float((h1 - h0) * (w1 - w0));
      }
}

void adaptive_avg_pool2d_backward(int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo, const float* dy,
                                  float* dx) {
#pragma omp parallel for if (planes * h * w > kParallelGrain) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    std::fill(dx + p * h * w, dx + (p + 1) * h * w, 0.0f);
    for (int64_t oh = 0; oh < ho; ++oh)
      for (int64_t ow = 0; ow < wo; ++ow) {
        const int64_t h0 = adaptive_start(oh, ho, h), h1 = adaptive_end(oh, ho, h);
        const int64_t w0 = adaptive_start(ow, wo, w), w1 = adaptive_end(ow, wo, w);
        const float g = dy[(p * ho + oh) * wo + ow] / float((h1 - h0) * (w1 - w0));
        for (int64_t i = h0; i < h1; ++i)
          for (int64_t j = w0; j < w1; ++j) dx[(p * h + i) * w + j] += g;
      }
  }
}

}  // namespace nabla::kernels
