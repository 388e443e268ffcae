#include "nabla/kernels/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "nabla/kernels/parallel.h"
#include "nabla/kernels/softmax.h"

namespace nabla::kernels {
namespace {

constexpr int64_t kBlock = 64;

// scores[i][j] = scale * q_i . k_j (+ mask) for a block, with causal positions set to -inf.
// kt is the key block transposed to [d, bk] so the inner loop runs over keys.
void block_scores(const AttentionShape& a, int64_t head, const float* q, const float* kt, int64_t i0, int64_t bq,
                  int64_t j0, int64_t bk, float* scores) {
  for (int64_t i = 0; i < bq; ++i) {
    float* row = scores + i * kBlock;
    for (int64_t j = 0; j < bk; ++j) row[j] = 0;
    const float* qi = q + (i0 + i) * a.d;
    for (int64_t c = 0; c < a.d; ++c) {
      const float qc = qi[c] * a.scale;
      const float* kc = kt + c * kBlock;
#pragma omp simd
      for (int64_t j = 0; j < bk; ++j) row[j] += qc * kc[j];
    }
    if (a.mask) {
      const float* m = a.mask + a.mask_offsets[head] + (i0 + i) * a.mask_row_stride + j0 * a.mask_col_stride;
      for (int64_t j = 0; j < bk; ++j) row[j] += m[j * a.mask_col_stride];
    }
    if (a.causal)
      for (int64_t j = std::max<int64_t>(0, i0 + i + 1 - j0); j < bk; ++j) row[j] = -INFINITY;
  }
}

void transpose_block(const float* src, int64_t rows, int64_t width, float* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < width; ++c) dst[c * kBlock + r] = src[r * width + c];
}

// Keys beyond this are all masked for a causal query block ending at row i_end.
int64_t key_limit(const AttentionShape& a, int64_t i_end) { return a.causal ? std::min(a.s, i_end) : a.s; }

}  // namespace

void attention_forward(const AttentionShape& a, const float* q, const float* k, const float* v, float* out, float* lse) {
  const int64_t q_blocks = (a.t + kBlock - 1) / kBlock;
  const int64_t work = a.heads * q_blocks;
#pragma omp parallel if (a.heads * a.t * a.s * a.d > (1 << 16))
  {
    std::vector<float> kt(a.d * kBlock), scores(kBlock * kBlock), acc(kBlock * a.dv), m(kBlock), l(kBlock);
#pragma omp for schedule(dynamic)
    for (int64_t w = 0; w < work; ++w) {
      const int64_t h = w / q_blocks, i0 = (w % q_blocks) * kBlock, bq = std::min(kBlock, a.t - i0);
      const float *qh = q + h * a.t * a.d, *kh = k + h * a.s * a.d, *vh = v + h * a.s * a.dv;
      std::fill(acc.begin(), acc.end(), 0.0f);
      std::fill(m.begin(), m.end(), -INFINITY);
      std::fill(l.begin(), l.end(), 0.0f);
      for (int64_t j0 = 0; j0 < key_limit(a, i0 + bq); j0 += kBlock) {
        const int64_t bk = std::min(kBlock, a.s - j0);
        transpose_block(kh + j0 * a.d, bk, a.d, kt.data());
        block_scores(a, h, qh, kt.data(), i0, bq, j0, bk, scores.data());
        for (int64_t i = 0; i < bq; ++i) {
          float* row = scores.data() + i * kBlock;
          const float new_m = std::max(m[i], row_max(row, bk));
          if (new_m == -INFINITY) continue;  // everything so far masked
          const float correction = std::exp(m[i] - new_m);
          const float row_sum = row_exp_sum(row, row, bk, new_m);
          l[i] = l[i] * correction + row_sum;
          m[i] = new_m;
          float* acc_i = acc.data() + i * a.dv;
#pragma omp simd
          for (int64_t c = 0; c < a.dv; ++c) acc_i[c] *= correction;
          for (int64_t j = 0; j < bk; ++j) {
            const float p = row[j];
            if (p == 0) continue;
            const float* vj = vh + (j0 + j) * a.dv;
#pragma omp simd
            for (int64_t c = 0; c < a.dv; ++c) acc_i[c] += p * vj[c];
          }
        }
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
  // Heads are independent, so each thread owns whole heads and writes dk/dv without races.
#pragma omp parallel if (a.heads * a.t * a.s * a.d > (1 << 16))
  {
    std::vector<float> kt(a.d * kBlock), vt(a.dv * kBlock), p(kBlock * kBlock), ds(kBlock * kBlock), delta(a.t);
#pragma omp for schedule(dynamic)
    for (int64_t h = 0; h < a.heads; ++h) {
      const float *qh = q + h * a.t * a.d, *kh = k + h * a.s * a.d, *vh = v + h * a.s * a.dv;
      const float *oh = out + h * a.t * a.dv, *doh = dout + h * a.t * a.dv, *lh = lse + h * a.t;
      float *dqh = dq + h * a.t * a.d, *dkh = dk + h * a.s * a.d, *dvh = dv + h * a.s * a.dv;
      std::fill(dqh, dqh + a.t * a.d, 0.0f);
      std::fill(dkh, dkh + a.s * a.d, 0.0f);
      std::fill(dvh, dvh + a.s * a.dv, 0.0f);
      for (int64_t i = 0; i < a.t; ++i) {  // delta_i = dO_i . O_i (the softmax backward's row term)
        float s = 0;
        for (int64_t c = 0; c < a.dv; ++c) s += doh[i * a.dv + c] * oh[i * a.dv + c];
        delta[i] = s;
      }
      for (int64_t j0 = 0; j0 < a.s; j0 += kBlock) {
        const int64_t bk = std::min(kBlock, a.s - j0);
        transpose_block(kh + j0 * a.d, bk, a.d, kt.data());
        transpose_block(vh + j0 * a.dv, bk, a.dv, vt.data());
        const int64_t first_query = a.causal ? (j0 / kBlock) * kBlock : 0;
        for (int64_t i0 = first_query; i0 < a.t; i0 += kBlock) {
          const int64_t bq = std::min(kBlock, a.t - i0);
          block_scores(a, h, qh, kt.data(), i0, bq, j0, bk, p.data());
          for (int64_t i = 0; i < bq; ++i) {
            float* prow = p.data() + i * kBlock;
            const float li = lh[i0 + i];
            for (int64_t j = 0; j < bk; ++j) prow[j] = std::isinf(prow[j]) ? 0.0f : std::exp(prow[j] - li);
            // dP_ij = dO_i . v_j, then dS = P * (dP - delta)
            float* dsrow = ds.data() + i * kBlock;
            for (int64_t j = 0; j < bk; ++j) dsrow[j] = 0;
            const float* doi = doh + (i0 + i) * a.dv;
            for (int64_t c = 0; c < a.dv; ++c) {
              const float g = doi[c];
              const float* vc = vt.data() + c * kBlock;
#pragma omp simd
              for (int64_t j = 0; j < bk; ++j) dsrow[j] += g * vc[j];
            }
#pragma omp simd
            for (int64_t j = 0; j < bk; ++j) dsrow[j] = prow[j] * (dsrow[j] - delta[i0 + i]);
            // dV_j += P_ij dO_i ; dK_j += scale dS_ij q_i ; dQ_i += scale dS_ij k_j
            const float* qi = qh + (i0 + i) * a.d;
            float* dqi = dqh + (i0 + i) * a.d;
            for (int64_t j = 0; j < bk; ++j) {
              const float pij = prow[j], dsij = dsrow[j] * a.scale;
              float* dvj = dvh + (j0 + j) * a.dv;
              if (pij != 0) {
#pragma omp simd
                for (int64_t c = 0; c < a.dv; ++c) dvj[c] += pij * doi[c];
              }
              if (dsij != 0) {
                float* dkj = dkh + (j0 + j) * a.d;
                const float* kj = kh + (j0 + j) * a.d;
#pragma omp simd
                for (int64_t c = 0; c < a.d; ++c) {
                  dkj[c] += dsij * qi[c];
                  dqi[c] += dsij * kj[c];
                }
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace nabla::kernels
