#include "nabla/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include "nabla/core/profiler.h"
#include "nabla/kernels/attention_amx.h"
#include "nabla/kernels/parallel.h"
#include "nabla/kernels/small_gemm.h"
#include "nabla/kernels/softmax.h"

namespace nabla::kernels {
namespace {

constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 128;

// C = op(A) op(B) + beta C on row-major matrices ('T' reads one transposed), beta 0 or 1, on the
// calling thread. oneDNN's BLAS-style sgemm, not a matmul primitive: on these 64-128-wide tiles
// a primitive's per-call cost (memory objects, argument map, cache lookup) made the whole kernel
// 15-25% slower (GPT small and medium shapes, Intel Xeon). Outside a parallel region sgemm would
// fork its own team for a tile (143 us instead of 21 for 64x256x64), so it is held to one thread.
void gemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
          float beta, float* c, int64_t ldc) {
  profiler::add_flops(2.0 * double(m) * double(n) * double(k));
  if (m * n * k <= 32 * 32 * 32) {  // a decoded token's query against the cache: inline
    auto operand = [](const float* x, char t, int64_t ld) {
      return t == 'N' ? MatrixOperand{x, DType::f32, 1, 0, ld, 1} : MatrixOperand{x, DType::f32, 1, 0, 1, ld};
    };
    small_gemm(operand(a, ta, lda), operand(b, tb, ldb), c, ldc, m, k, n, beta != 0);
    return;
  }
  const bool serial_caller = !omp_in_parallel();
  const int team = omp_get_max_threads();
  if (serial_caller) omp_set_num_threads(1);
  dnnl_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (serial_caller) omp_set_num_threads(team);
}

// After the GEMM S = (q * scale) k^T: add the mask and hide future keys for causal attention.
void mask_scores(const AttentionShape& a, int64_t head, int64_t i0, int64_t bq, int64_t j0, int64_t bk, float* s,
                 int64_t ld) {
  for (int64_t i = 0; i < bq; ++i) {
    float* row = s + i * ld;
    if (a.mask) {
      const float* m = a.mask + a.mask_offsets[head] + (i0 + i) * a.mask_row_stride + j0 * a.mask_col_stride;
      for (int64_t j = 0; j < bk; ++j) row[j] += m[j * a.mask_col_stride];
    }
    if (a.causal)
      for (int64_t j = std::max<int64_t>(0, i0 + i + 1 - j0); j < bk; ++j) row[j] = -INFINITY;
  }
}

// Keys at or beyond this index are masked for every query before row i_end (causal).
int64_t key_limit(const AttentionShape& a, int64_t i_end) { return a.causal ? std::min(a.s, i_end) : a.s; }

void scale_copy(const float* src, float* dst, int64_t n, float scale) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * scale;
}

}  // namespace

void output_gradient_dots(const AttentionShape& a, const float* out, const float* dout, float* delta) {
  const int64_t ld = a.out_layout.row_stride;
  for (int64_t i = 0; i < a.t; ++i) {
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < a.dv; ++c) sum += dout[i * ld + c] * out[i * ld + c];
    delta[i] = sum;
  }
}

void attention_forward(const AttentionShape& a, const float* q, const float* k, const float* v, float* out, float* lse) {
  if (a.bf16_tiles) return attention_forward_amx(a, q, k, v, out, lse);
  const int64_t q_blocks = (a.t + kQueryBlock - 1) / kQueryBlock, work = a.heads * q_blocks;
  const int64_t ldq = a.q_layout.row_stride, ldk = a.k_layout.row_stride, ldv = a.v_layout.row_stride,
                ldo = a.out_layout.row_stride;
  // Each thread owns whole (head, query block) tiles; the GEMMs inside run single-threaded.
#pragma omp parallel if (work > 1 && a.heads * a.t * a.s * a.d > (1 << 16))
  {
    // Sized for the rows a block can have: a decoded token's single query zero-fills no 64 KB.
    const int64_t rows = std::min(kQueryBlock, a.t);
    std::vector<float> qs(rows * a.d), s(rows * kKeyBlock), acc(rows * a.dv), m(rows), l(rows);
#pragma omp for schedule(dynamic)
    for (int64_t w = 0; w < work; ++w) {
      const int64_t h = w / q_blocks, i0 = (w % q_blocks) * kQueryBlock, bq = std::min(kQueryBlock, a.t - i0);
      const float *qh = q + a.q_layout.offset(h), *kh = k + a.k_layout.offset(h), *vh = v + a.v_layout.offset(h);
      for (int64_t i = 0; i < bq; ++i) scale_copy(qh + (i0 + i) * ldq, qs.data() + i * a.d, a.d, a.scale);
      std::fill_n(acc.begin(), bq * a.dv, 0.0f);
      std::fill_n(m.begin(), bq, -INFINITY);
      std::fill_n(l.begin(), bq, 0.0f);
      const int64_t keys = key_limit(a, i0 + bq);
      for (int64_t j0 = 0; j0 < keys; j0 += kKeyBlock) {
        const int64_t bk = std::min(kKeyBlock, keys - j0);
        gemm('N', 'T', bq, bk, a.d, qs.data(), a.d, kh + j0 * ldk, ldk, 0, s.data(), bk);
        mask_scores(a, h, i0, bq, j0, bk, s.data(), bk);
        // Online softmax: rescale what was accumulated under the old row maximum.
        for (int64_t i = 0; i < bq; ++i) {
          float* row = s.data() + i * bk;
          const float new_m = std::max(m[i], row_max(row, bk));
          if (new_m == -INFINITY) {  // everything so far masked: contributes nothing
            std::fill(row, row + bk, 0.0f);
            continue;
          }
          const float correction = std::exp(m[i] - new_m);
          l[i] = l[i] * correction + row_exp_sum(row, row, bk, new_m);
          m[i] = new_m;
          float* acc_i = acc.data() + i * a.dv;
#pragma omp simd
          for (int64_t c = 0; c < a.dv; ++c) acc_i[c] *= correction;
        }
        gemm('N', 'N', bq, a.dv, bk, s.data(), bk, vh + j0 * ldv, ldv, 1, acc.data(), a.dv);
      }
      float* oh = out + a.out_layout.offset(h);
      for (int64_t i = 0; i < bq; ++i) {
        float* o = oh + (i0 + i) * ldo;
        const float inv = l[i] > 0 ? 1.0f / l[i] : NAN;  // a fully masked row has no distribution
#pragma omp simd
        for (int64_t c = 0; c < a.dv; ++c) o[c] = acc[i * a.dv + c] * inv;
        lse[h * a.t + i0 + i] = m[i] + std::log(l[i]);
      }
    }
  }
}

void attention_backward(const AttentionShape& a, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  if (a.bf16_tiles) return attention_backward_amx(a, q, k, v, out, lse, dout, dq, dk, dv);
  // Bigger tiles than the forward's query blocks: backward runs five GEMMs per tile, and each
  // call has a fixed cost.
  constexpr int64_t kBlock = 128;
  const int64_t ldq = a.q_layout.row_stride, ldk = a.k_layout.row_stride, ldv = a.v_layout.row_stride,
                ldo = a.out_layout.row_stride;
  auto zero_rows = [](float* x, int64_t rows, int64_t width, int64_t ld) {
    for (int64_t i = 0; i < rows; ++i) std::fill(x + i * ld, x + i * ld + width, 0.0f);
  };
  // Heads are independent, so each thread owns whole heads and accumulates dk/dv without races.
#pragma omp parallel if (a.heads > 1 && a.heads * a.t * a.s * a.d > (1 << 16))
  {
    std::vector<float> qs(a.t * a.d), p(kBlock * kBlock), dp(kBlock * kBlock), delta(a.t);
#pragma omp for schedule(dynamic)
    for (int64_t h = 0; h < a.heads; ++h) {
      const float *qh = q + a.q_layout.offset(h), *kh = k + a.k_layout.offset(h), *vh = v + a.v_layout.offset(h);
      const float *oh = out + a.out_layout.offset(h), *doh = dout + a.out_layout.offset(h), *lh = lse + h * a.t;
      float *dqh = dq + a.q_layout.offset(h), *dkh = dk + a.k_layout.offset(h), *dvh = dv + a.v_layout.offset(h);
      zero_rows(dqh, a.t, a.d, ldq);
      zero_rows(dkh, a.s, a.d, ldk);
      zero_rows(dvh, a.s, a.dv, ldv);
      for (int64_t i = 0; i < a.t; ++i) scale_copy(qh + i * ldq, qs.data() + i * a.d, a.d, a.scale);
      output_gradient_dots(a, oh, doh, delta.data());
      // One tile: query rows [i0, i0 + bq) against keys [j0, j0 + bk).
      auto tile = [&](int64_t i0, int64_t bq, int64_t j0, int64_t bk) {
        // P = exp(S - lse), recomputed from the scores instead of stored by the forward pass.
        gemm('N', 'T', bq, bk, a.d, qs.data() + i0 * a.d, a.d, kh + j0 * ldk, ldk, 0, p.data(), bk);
        mask_scores(a, h, i0, bq, j0, bk, p.data(), bk);
        for (int64_t i = 0; i < bq; ++i) {
          float* row = p.data() + i * bk;
          // Causally hidden keys are exactly zero; the vectorised exp covers the visible ones.
          const int64_t visible = a.causal ? std::clamp<int64_t>(i0 + i + 1 - j0, 0, bk) : bk;
          row_exp_sum(row, row, visible, lh[i0 + i]);
          std::fill(row + visible, row + bk, 0.0f);
        }
        // dV_j += P^T dO_i
        gemm('T', 'N', bk, a.dv, bq, p.data(), bk, doh + i0 * ldo, ldo, 1, dvh + j0 * ldv, ldv);
        // dP = dO_i V_j^T, then dS = P (dP - delta) * scale
        gemm('N', 'T', bq, bk, a.dv, doh + i0 * ldo, ldo, vh + j0 * ldv, ldv, 0, dp.data(), bk);
        for (int64_t i = 0; i < bq; ++i) {
          const float di = delta[i0 + i];
          float *prow = p.data() + i * bk, *drow = dp.data() + i * bk;
#pragma omp simd
          for (int64_t j = 0; j < bk; ++j) drow[j] = prow[j] * (drow[j] - di) * a.scale;
        }
        // dQ_i += dS K_j ; dK_j += dS^T Q_i
        gemm('N', 'N', bq, a.d, bk, dp.data(), bk, kh + j0 * ldk, ldk, 1, dqh + i0 * ldq, ldq);
        gemm('T', 'N', bk, a.d, bq, dp.data(), bk, qh + i0 * ldq, ldq, 1, dkh + j0 * ldk, ldk);
      };
      for (int64_t i0 = 0; i0 < a.t; i0 += kBlock) {
        const int64_t bq = std::min(kBlock, a.t - i0);
        for (int64_t j0 = 0; j0 < key_limit(a, i0 + bq); j0 += kBlock) {
          const int64_t bk = std::min(kBlock, a.s - j0);
          if (!a.causal || j0 + bk <= i0 + 1 || bq <= kBlock / 2) {
            tile(i0, bq, j0, bk);
            continue;
          }
          // A tile the causal diagonal crosses runs as two row halves, each only up to its last
          // visible key: the upper half skips the quarter of the tile that is all hidden. Old and
          // new kernels alternating in one process: T128 (GPT small) 9-14% faster, T256 9-10%;
          // four or eight strips were slower (more calls).
          const int64_t half = bq / 2, upper_keys = std::min(bk, i0 + half - j0);
          if (upper_keys > 0) tile(i0, half, j0, upper_keys);
          tile(i0 + half, bq - half, j0, std::min(bk, i0 + bq - j0));
        }
      }
    }
  }
}

}  // namespace nabla::kernels
