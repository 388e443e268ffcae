#include "nabla/kernels/norm.h"

#include <omp.h>

#include <cmath>
#include <vector>

#include "nabla/kernels/parallel.h"
#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {
namespace {

// Mean and sum of squared deviations of one row. Four independent vector accumulators: a single
// one makes the loop wait on add latency rather than on memory.
void row_moments(const float* x, int64_t n, float& mean, float& squares) {
  int64_t i = 0;
  float sum = 0;
#ifdef NABLA_AVX2
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + i + 24));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (float l : lanes) sum += l;
#endif
  for (; i < n; ++i) sum += x[i];
  const float m = sum / float(n);
  float sq = 0;
  i = 0;
#ifdef NABLA_AVX2
  const __m256 vm = _mm256_set1_ps(m);
  __m256 q0 = _mm256_setzero_ps(), q1 = q0, q2 = q0, q3 = q0;
  for (; i + 32 <= n; i += 32) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm);
    __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 16), vm), d3 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 24), vm);
    q0 = _mm256_fmadd_ps(d0, d0, q0);
    q1 = _mm256_fmadd_ps(d1, d1, q1);
    q2 = _mm256_fmadd_ps(d2, d2, q2);
    q3 = _mm256_fmadd_ps(d3, d3, q3);
  }
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(q0, q1), _mm256_add_ps(q2, q3)));
  for (float l : lanes) sq += l;
#endif
  for (; i < n; ++i) sq += (x[i] - m) * (x[i] - m);
  mean = m;
  squares = sq;
}

}  // namespace

void layer_norm_forward(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t n, float eps) {
#pragma omp parallel for if (rows * n > kParallelGrain) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    float m, sq;
    row_moments(xr, n, m, sq);
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
  // Per-thread partial sums for dweight/dbias, added at the end: no atomics, deterministic. They
  // exist (and a weight of ones stands in for none) even when not asked for, so the row loop has
  // no branches and vectorises: its two row sums made it scalar, 4x the forward's time.
  std::vector<float> partial_w(size_t(threads) * n, 0.0f), partial_b(size_t(threads) * n, 0.0f);
  std::vector<float> ones(weight ? 0 : size_t(n), 1.0f);
  const float* w = weight ? weight : ones.data();
#pragma omp parallel num_threads(threads)
  {
    const int tid = omp_get_thread_num();
    float* pw = partial_w.data() + size_t(tid) * n;
    float* pb = partial_b.data() + size_t(tid) * n;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float *xr = x + r * n, *gr = g + r * n;
      float* dxr = dx + r * n;
      const float m = mean[r], rs = rstd[r];
      float sum_gw = 0, sum_gw_xhat = 0;
#pragma omp simd reduction(+ : sum_gw, sum_gw_xhat)
      for (int64_t i = 0; i < n; ++i) {
        const float xhat = (xr[i] - m) * rs, gw = gr[i] * w[i];
        sum_gw += gw;
        sum_gw_xhat += gw * xhat;
        pw[i] += gr[i] * xhat;
        pb[i] += gr[i];
      }
      const float a = sum_gw / float(n), b = sum_gw_xhat / float(n);
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        const float xhat = (xr[i] - m) * rs;
        dxr[i] = rs * (gr[i] * w[i] - a - xhat * b);
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    float sw = 0, sb = 0;
    for (int t = 0; t < threads; ++t) {
      sw += partial_w[size_t(t) * n + i];
      sb += partial_b[size_t(t) * n + i];
    }
    if (dweight) dweight[i] = sw;
    if (dbias) dbias[i] = sb;
  }
}

void batch_norm_statistics(const float* x, const BatchNormShape& s, double eps, double momentum, float* mean,
                           float* rstd, float* running_mean, float* running_var) {
  const int64_t batch = s.batch, channels = s.channels, spatial = s.spatial, count = batch * spatial;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0, sq = 0;
    for (int64_t b = 0; b < batch; ++b) {
      const float* p = x + (b * channels + c) * spatial;
      for (int64_t i = 0; i < spatial; ++i) sum += p[i];
    }
    const double m = sum / double(count);
    for (int64_t b = 0; b < batch; ++b) {
      const float* p = x + (b * channels + c) * spatial;
      for (int64_t i = 0; i < spatial; ++i) sq += (p[i] - m) * (p[i] - m);
    }
    const double biased = sq / double(count);
    mean[c] = float(m);
    rstd[c] = float(1.0 / std::sqrt(biased + eps));
    if (running_mean) running_mean[c] = float((1 - momentum) * running_mean[c] + momentum * m);
    if (running_var) running_var[c] = float((1 - momentum) * running_var[c] + momentum * sq / double(count - 1));
  }
}

void batch_norm_running_statistics(const float* running_mean, const float* running_var, int64_t channels, double eps,
                                   float* mean, float* rstd) {
  for (int64_t c = 0; c < channels; ++c) {
    mean[c] = running_mean[c];
    rstd[c] = float(1.0 / std::sqrt(double(running_var[c]) + eps));
  }
}

void batch_norm_forward(const float* x, const BatchNormShape& s, const float* mean, const float* rstd,
                        const float* weight, const float* bias, float* y) {
  const int64_t batch = s.batch, channels = s.channels, spatial = s.spatial;
#pragma omp parallel for collapse(2) if (batch * channels * spatial > (1 << 15)) schedule(static)
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      const float scale = rstd[c] * (weight ? weight[c] : 1.0f), shift = (bias ? bias[c] : 0.0f) - mean[c] * scale;
      const float* p = x + (b * channels + c) * spatial;
      float* o = y + (b * channels + c) * spatial;
      for (int64_t i = 0; i < spatial; ++i) o[i] = p[i] * scale + shift;
    }
}

void batch_norm_backward(const float* x, const float* g, const BatchNormShape& s, const float* mean, const float* rstd,
                         const float* weight, bool training, float* dx, float* dweight, float* dbias) {
  const int64_t batch = s.batch, channels = s.channels, spatial = s.spatial, count = batch * spatial;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < channels; ++c) {
    double sum_g = 0, sum_g_xhat = 0;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t base = (b * channels + c) * spatial;
      for (int64_t i = 0; i < spatial; ++i) {
        sum_g += g[base + i];
        sum_g_xhat += g[base + i] * (x[base + i] - mean[c]) * rstd[c];
      }
    }
    dweight[c] = float(sum_g_xhat);
    dbias[c] = float(sum_g);
    const float w = weight ? weight[c] : 1.0f;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t base = (b * channels + c) * spatial;
      for (int64_t i = 0; i < spatial; ++i) {
        if (training) {
          const float xhat = (x[base + i] - mean[c]) * rstd[c];
          dx[base + i] = w * rstd[c] * (g[base + i] - float(sum_g / count) - xhat * float(sum_g_xhat / count));
        } else {
          dx[base + i] = w * rstd[c] * g[base + i];
        }
      }
    }
  }
}

}  // namespace nabla::kernels
