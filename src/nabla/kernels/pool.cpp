#include "nabla/kernels/pool.h"

#include <algorithm>
#include <cmath>

#include "nabla/kernels/parallel.h"

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

// The common 2x2 / stride 2 / no padding window, branch-free so the row loop vectorises
// (the general loop below ran at ~3 GB/s on the Fashion-MNIST CNN).
template <bool Relu>
void max_pool2x2_forward(const PoolShape& s, const float* x, float* y, int32_t* argmax) {
#pragma omp parallel for if (s.planes * s.h * s.w > kParallelGrain) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p) {
    const float* xp = x + p * s.h * s.w;
    for (int64_t oh = 0; oh < s.ho; ++oh) {
      const float* r0 = xp + 2 * oh * s.w;
      const float* r1 = r0 + s.w;
      const int32_t i0 = int32_t(2 * oh * s.w), i1 = int32_t(i0 + s.w);
      float* yo = y + (p * s.ho + oh) * s.wo;
      int32_t* ao = argmax + (p * s.ho + oh) * s.wo;
#pragma omp simd
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

void adaptive_avg_pool2d_forward(int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo, const float* x, float* y) {
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
