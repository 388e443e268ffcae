#include "nabla/kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "nabla/kernels/matmul.h"
#include "nabla/kernels/parallel.h"
#include "nabla/kernels/softmax.h"

namespace nabla::kernels {
namespace {

constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 128;

// Row-major [rows, cols] matrix at `data`, optionally read transposed, as a GEMM operand.
MatrixOperand plain(const float* data, int64_t ld) { return {data, DType::f32, 1, 0, ld, 1}; }
MatrixOperand transposed(const float* data, int64_t ld) { return {data, DType::f32, 1, 0, 1, ld}; }

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

void attention_forward(const AttentionShape& a, const float* q, const float* k, const float* v, float* out, float* lse) {
  const int64_t q_blocks = (a.t + kQueryBlock - 1) / kQueryBlock, work = a.heads * q_blocks;
  // Each thread owns whole (head, query block) tiles; the GEMMs inside run single-threaded.
#pragma omp parallel if (work > 1 && a.heads * a.t * a.s * a.d > (1 << 16))
  {
    std::vector<float> qs(kQueryBlock * a.d), s(kQueryBlock * kKeyBlock), acc(kQueryBlock * a.dv), m(kQueryBlock),
        l(kQueryBlock);
#pragma omp for schedule(dynamic)
    for (int64_t w = 0; w < work; ++w) {
      const int64_t h = w / q_blocks, i0 = (w % q_blocks) * kQueryBlock, bq = std::min(kQueryBlock, a.t - i0);
      const float *kh = k + h * a.s * a.d, *vh = v + h * a.s * a.dv;
      scale_copy(q + (h * a.t + i0) * a.d, qs.data(), bq * a.d, a.scale);
      std::fill(acc.begin(), acc.end(), 0.0f);
      std::fill(m.begin(), m.end(), -INFINITY);
      std::fill(l.begin(), l.end(), 0.0f);
      const int64_t keys = key_limit(a, i0 + bq);
      for (int64_t j0 = 0; j0 < keys; j0 += kKeyBlock) {
        const int64_t bk = std::min(kKeyBlock, keys - j0);
        matmul(plain(qs.data(), a.d), transposed(kh + j0 * a.d, a.d), s.data(), 1, bq, a.d, bk);
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
        matmul(plain(s.data(), bk), plain(vh + j0 * a.dv, a.dv), acc.data(), 1, bq, bk, a.dv, /*accumulate=*/true);
      }
      for (int64_t i = 0; i < bq; ++i) {
        float* o = out + (h * a.t + i0 + i) * a.dv;
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
  // Bigger tiles than the forward's query blocks: backward runs five GEMMs per tile, and each
  // oneDNN call has a fixed cost.
  constexpr int64_t kBlock = 128;
  // Heads are independent, so each thread owns whole heads and accumulates dk/dv without races.
#pragma omp parallel if (a.heads > 1 && a.heads * a.t * a.s * a.d > (1 << 16))
  {
    std::vector<float> qs(a.t * a.d), p(kBlock * kBlock), dp(kBlock * kBlock), delta(a.t);
#pragma omp for schedule(dynamic)
    for (int64_t h = 0; h < a.heads; ++h) {
      const float *qh = q + h * a.t * a.d, *kh = k + h * a.s * a.d, *vh = v + h * a.s * a.dv;
      const float *oh = out + h * a.t * a.dv, *doh = dout + h * a.t * a.dv, *lh = lse + h * a.t;
      float *dqh = dq + h * a.t * a.d, *dkh = dk + h * a.s * a.d, *dvh = dv + h * a.s * a.dv;
      std::fill(dqh, dqh + a.t * a.d, 0.0f);
      std::fill(dkh, dkh + a.s * a.d, 0.0f);
      std::fill(dvh, dvh + a.s * a.dv, 0.0f);
      scale_copy(qh, qs.data(), a.t * a.d, a.scale);
      for (int64_t i = 0; i < a.t; ++i) {  // delta_i = dO_i . O_i, the softmax backward's row term
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < a.dv; ++c) sum += doh[i * a.dv + c] * oh[i * a.dv + c];
        delta[i] = sum;
      }
      for (int64_t i0 = 0; i0 < a.t; i0 += kBlock) {
        const int64_t bq = std::min(kBlock, a.t - i0);
        for (int64_t j0 = 0; j0 < key_limit(a, i0 + bq); j0 += kBlock) {
          const int64_t bk = std::min(kBlock, a.s - j0);
          // P = exp(S - lse), recomputed from the scores instead of stored by the forward pass.
          matmul(plain(qs.data() + i0 * a.d, a.d), transposed(kh + j0 * a.d, a.d), p.data(), 1, bq, a.d, bk);
          mask_scores(a, h, i0, bq, j0, bk, p.data(), bk);
          for (int64_t i = 0; i < bq; ++i) {
            float* row = p.data() + i * bk;
            // Causally hidden keys are exactly zero; the vectorised exp covers the visible ones.
            const int64_t visible = a.causal ? std::clamp<int64_t>(i0 + i + 1 - j0, 0, bk) : bk;
            row_exp_sum(row, row, visible, lh[i0 + i]);
            std::fill(row + visible, row + bk, 0.0f);
          }
          // dV_j += P^T dO_i
          matmul(transposed(p.data(), bk), plain(doh + i0 * a.dv, a.dv), dvh + j0 * a.dv, 1, bk, bq, a.dv, true);
          // dP = dO_i V_j^T, then dS = P (dP - delta) * scale
          matmul(plain(doh + i0 * a.dv, a.dv), transposed(vh + j0 * a.dv, a.dv), dp.data(), 1, bq, a.dv, bk);
          for (int64_t i = 0; i < bq; ++i) {
            const float di = delta[i0 + i];
            float *prow = p.data() + i * bk, *drow = dp.data() + i * bk;
#pragma omp simd
            for (int64_t j = 0; j < bk; ++j) drow[j] = prow[j] * (drow[j] - di) * a.scale;
          }
          // dQ_i += dS K_j ; dK_j += dS^T Q_i
          matmul(plain(dp.data(), bk), plain(kh + j0 * a.d, a.d), dqh + i0 * a.d, 1, bq, bk, a.d, true);
          matmul(transposed(dp.data(), bk), plain(qh + i0 * a.d, a.d), dkh + j0 * a.d, 1, bk, bq, a.d, true);
        }
      }
    }
  }
}

}  // namespace nabla::kernels
