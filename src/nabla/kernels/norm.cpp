#include "nabla/kernels/norm.h"

#include <omp.h>

#include <cmath>
#include <vector>

#include "nabla/kernels/parallel.h"

namespace nabla::kernels {

void layer_norm_forward(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t n, float eps) {
#pragma omp parallel for if (rows * n > kParallelGrain) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) sum += xr[i];
    const float m = sum / float(n);
    float sq = 0;
#pragma omp simd reduction(+ : sq)
    for (int64_t i = 0; i < n; ++i) sq += (xr[i] - m) * (xr[i] - m);
    const float rs = 1.0f / std::sqrt(sq / float(n) + eps);
    mean[r] = m;
    rstd[r] = rs;
    if (weight && bias) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) * rs * weight[i] + bias[i];
    } else if (weight) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) * rs * weight[i];
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) * rs + (bias ? bias[i] : 0.0f);
    }
  }
}

void layer_norm_backward(const float* x, const float* weight, const float* mean, const float* rstd, const float* g,
                         float* dx, float* dweight, float* dbias, int64_t rows, int64_t n) {
  const bool parallel = rows * n > kParallelGrain;
  const int threads = parallel ? omp_get_max_threads() : 1;
  // Per-thread partial sums for dweight/dbias, added at the end: no atomics, deterministic.
  std::vector<float> partial_w(dweight ? size_t(threads) * n : 0, 0.0f), partial_b(dbias ? size_t(threads) * n : 0, 0.0f);
#pragma omp parallel num_threads(threads)
  {
    const int tid = omp_get_thread_num();
    float* pw = dweight ? partial_w.data() + size_t(tid) * n : nullptr;
    float* pb = dbias ? partial_b.data() + size_t(tid) * n : nullptr;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float *xr = x + r * n, *gr = g + r * n;
      float* dxr = dx + r * n;
      const float m = mean[r], rs = rstd[r];
      float sum_gw = 0, sum_gw_xhat = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float xhat = (xr[i] - m) * rs;
        const float gw = gr[i] * (weight ? weight[i] : 1.0f);
        sum_gw += gw;
        sum_gw_xhat += gw * xhat;
        if (pw) pw[i] += gr[i] * xhat;
        if (pb) pb[i] += gr[i];
      }
      const float a = sum_gw / float(n), b = sum_gw_xhat / float(n);
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        const float xhat = (xr[i] - m) * rs;
        dxr[i] = rs * (gr[i] * (weight ? weight[i] : 1.0f) - a - xhat * b);
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (dweight) {
      float s = 0;
      for (int t = 0; t < threads; ++t) s += partial_w[size_t(t) * n + i];
      dweight[i] = s;
    }
    if (dbias) {
      float s = 0;
      for (int t = 0; t < threads; ++t) s += partial_b[size_t(t) * n + i];
      dbias[i] = s;
    }
  }
}

}  // namespace nabla::kernels
