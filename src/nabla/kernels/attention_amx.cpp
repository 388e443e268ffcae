#include "nabla/kernels/attention_amx.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nabla/core/allocator.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/amx_gemm.h"
#include "nabla/kernels/softmax.h"
#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {
namespace {

using amx::padded;

constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 128;
constexpr int64_t kBackwardBlock = 128;

void gemm(int64_t m, int64_t n, int64_t k, const bf16* a, int64_t lda, const bf16* b, int64_t ldb, float* c,
          int64_t ldc, bool accumulate) {
  profiler::add_flops(2.0 * double(m) * double(n) * double(k));
  amx::gemm(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

bool parallel_pays(const AttentionShape& a) { return a.heads * a.t * a.s * a.d > (1 << 16); }

// For one key's row of the transposed tile, queries [first, last): p = exp(s - lse), in place
// of s, and ds = p (dp - delta) scale, in place of dp.
void softmax_backward_row(float* s, float* dp, const float* lse, const float* delta, int64_t first, int64_t last,
                          float scale) {
  int64_t i = first;
#ifdef NABLA_AVX2
  i = vec::over_vectors(first, last, [&](int64_t j, auto v) {
    using V = decltype(v);
    const V p = vec::exp(vec::load<V>(s + j) - vec::load<V>(lse + j));
    vec::store(s + j, p);
    vec::store(dp + j, p * (vec::load<V>(dp + j) - vec::load<V>(delta + j)) * scale);
  });
#endif
  for (; i < last; ++i) {
    const float p = std::exp(s[i] - lse[i]);
    s[i] = p;
    dp[i] = p * (dp[i] - delta[i]) * scale;
  }
}

}  // namespace

void attention_forward_amx(const AttentionShape& a, const float* q, const float* k, const float* v, float* out,
                           float* lse) {
  const int64_t dp = padded(a.d), dvp = padded(a.dv), sp = padded(a.s);
  const int64_t q_blocks = (a.t + kQueryBlock - 1) / kQueryBlock, work = a.heads * q_blocks;
  const int64_t ldq = a.q_layout.row_stride, ldk = a.k_layout.row_stride, ldv = a.v_layout.row_stride,
                ldo = a.out_layout.row_stride;
  // Every query block of a head reads all its keys and values: pack them once per head, keys as
  // the columns of S = Q K^T and values as the rows of P V.
  PooledBuffer<bf16> keys(size_t(a.heads * dp * sp)), values(size_t(a.heads * sp * dvp));
#pragma omp parallel if (work > 1 && parallel_pays(a))
  {
#pragma omp for schedule(static)
    for (int64_t h = 0; h < a.heads; ++h) {
      amx::pack_pairs_transposed(k + a.k_layout.offset(h), ldk, a.s, a.d, 1.0f, keys.data() + h * dp * sp, dp, sp);
      amx::pack_pairs(v + a.v_layout.offset(h), ldv, a.s, a.dv, values.data() + h * sp * dvp, sp, dvp);
    }
    amx::TileScope tiles;
    const int64_t rows = padded(std::min(kQueryBlock, a.t));
    std::vector<bf16> qa(rows * dp), pa(rows * kKeyBlock);
    std::vector<float> s(rows * kKeyBlock), acc(rows * dvp), m(rows), l(rows);
#pragma omp for schedule(dynamic)
    for (int64_t w = 0; w < work; ++w) {
      const int64_t h = w / q_blocks, i0 = (w % q_blocks) * kQueryBlock, bq = std::min(kQueryBlock, a.t - i0),
                    bqp = padded(bq);
      const bf16 *kh = keys.data() + h * dp * sp, *vh = values.data() + h * sp * dvp;
      amx::pack_rows(q + a.q_layout.offset(h) + i0 * ldq, ldq, bq, a.d, a.scale, qa.data(), bqp, dp);
      std::fill_n(acc.begin(), bqp * dvp, 0.0f);
      std::fill_n(m.begin(), bq, -INFINITY);
      std::fill_n(l.begin(), bq, 0.0f);
      const int64_t key_end = a.causal ? std::min(a.s, i0 + bq) : a.s;
      for (int64_t j0 = 0; j0 < key_end; j0 += kKeyBlock) {
        const int64_t bk = std::min(kKeyBlock, key_end - j0), bkp = padded(bk);
        gemm(bqp, bkp, dp, qa.data(), dp, kh + 2 * j0, 2 * sp, s.data(), bkp, false);
        // Online softmax over the bk real keys; padding rows and columns hold zeros.
        for (int64_t i = 0; i < bq; ++i) {
          float* row = s.data() + i * bkp;
          const int64_t visible = a.causal ? std::clamp<int64_t>(i0 + i + 1 - j0, 0, bk) : bk;
          std::fill(row + visible, row + bkp, 0.0f);
          if (visible == 0) continue;  // all of this block's keys are in this query's future
          const float new_m = std::max(m[i], row_max(row, visible));
          const float correction = std::exp(m[i] - new_m);
          l[i] = l[i] * correction + row_exp_sum(row, row, visible, new_m);
          m[i] = new_m;
          float* acc_i = acc.data() + i * dvp;
#pragma omp simd
          for (int64_t c = 0; c < a.dv; ++c) acc_i[c] *= correction;
        }
        amx::pack_rows(s.data(), bkp, bqp, bkp, 1.0f, pa.data(), bqp, bkp);
        gemm(bqp, dvp, bkp, pa.data(), bkp, vh + j0 * dvp, 2 * dvp, acc.data(), dvp, true);
      }
      float* oh = out + a.out_layout.offset(h);
      for (int64_t i = 0; i < bq; ++i) {
        float* o = oh + (i0 + i) * ldo;
        const float inv = 1.0f / l[i];
#pragma omp simd
        for (int64_t c = 0; c < a.dv; ++c) o[c] = acc[i * dvp + c] * inv;
        lse[h * a.t + i0 + i] = m[i] + std::log(l[i]);
      }
    }
  }
}

// Backward works on transposed tiles, S^T = K Q^T, so that every bf16 operand packs from f32
// rows without a transpose per tile: P^T and dS^T are the A operands of dV = P^T dO and
// dK = dS^T Q, and dS^T's row pairs the B operand of dQ^T = K^T dS^T.
void attention_backward_amx(const AttentionShape& a, const float* q, const float* k, const float* v, const float* out,
                            const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  constexpr int64_t kB = kBackwardBlock;
  const int64_t dp = padded(a.d), dvp = padded(a.dv), sp = padded(a.s), tp = padded(a.t);
  const int64_t ldq = a.q_layout.row_stride, ldk = a.k_layout.row_stride, ldv = a.v_layout.row_stride,
                ldo = a.out_layout.row_stride;
#pragma omp parallel if (a.heads > 1 && parallel_pays(a))
  {
    amx::TileScope tiles;
    // Per head: the operands as each product needs them (see the names), and f32 accumulators.
    std::vector<bf16> q_cols(dp * tp), q_pairs(tp * dp), k_rows(sp * dp), k_cols_as_rows(dp * sp), v_rows(sp * dvp),
        dout_cols(dvp * tp), dout_pairs(tp * dvp), p_rows(kB * kB), ds_rows(kB * kB), ds_pairs(kB * kB);
    std::vector<float> dq_t(dp * tp), dk_acc(sp * dp), dv_acc(sp * dvp), st(kB * kB), dpt(kB * kB), delta(tp, 0.0f);
#pragma omp for schedule(dynamic)
    for (int64_t h = 0; h < a.heads; ++h) {
      const float *qh = q + a.q_layout.offset(h), *kh = k + a.k_layout.offset(h), *vh = v + a.v_layout.offset(h);
      const float *oh = out + a.out_layout.offset(h), *doh = dout + a.out_layout.offset(h), *lh = lse + h * a.t;
      amx::pack_pairs_transposed(qh, ldq, a.t, a.d, a.scale, q_cols.data(), dp, tp);     // B of S^T = K (scale Q)^T
      amx::pack_pairs(qh, ldq, a.t, a.d, q_pairs.data(), tp, dp);                        // B of dK = dS^T Q
      amx::pack_rows(kh, ldk, a.s, a.d, 1.0f, k_rows.data(), sp, dp);                    // A of S^T
      amx::pack_rows_transposed(kh, ldk, a.s, a.d, k_cols_as_rows.data(), dp, sp);       // A of dQ^T = K^T dS^T
      amx::pack_rows(vh, ldv, a.s, a.dv, 1.0f, v_rows.data(), sp, dvp);                  // A of dP^T = V dO^T
      amx::pack_pairs_transposed(doh, ldo, a.t, a.dv, 1.0f, dout_cols.data(), dvp, tp);  // B of dP^T
      amx::pack_pairs(doh, ldo, a.t, a.dv, dout_pairs.data(), tp, dvp);                  // B of dV = P^T dO
      std::fill(dq_t.begin(), dq_t.end(), 0.0f);
      std::fill(dk_acc.begin(), dk_acc.end(), 0.0f);
      std::fill(dv_acc.begin(), dv_acc.end(), 0.0f);
      output_gradient_dots(a, oh, doh, delta.data());
      for (int64_t i0 = 0; i0 < a.t; i0 += kB) {
        const int64_t bq = std::min(kB, a.t - i0), bqp = padded(bq);
        const int64_t key_end = a.causal ? std::min(a.s, i0 + bq) : a.s;
        for (int64_t j0 = 0; j0 < key_end; j0 += kB) {
          const int64_t bk = std::min(kB, a.s - j0), bkp = padded(bk);
          gemm(bkp, bqp, dp, k_rows.data() + j0 * dp, dp, q_cols.data() + 2 * i0, 2 * tp, st.data(), bqp, false);
          gemm(bkp, bqp, dvp, v_rows.data() + j0 * dvp, dvp, dout_cols.data() + 2 * i0, 2 * tp, dpt.data(), bqp, false);
          // P^T = exp(S^T - lse) and dS^T = P^T (dP^T - delta) scale, zero where key j is in
          // query i's future and in the padding.
          for (int64_t j = 0; j < bkp; ++j) {
            float *prow = st.data() + j * bqp, *drow = dpt.data() + j * bqp;
            const int64_t first = j >= bk ? bqp : a.causal ? std::clamp<int64_t>(j0 + j - i0, 0, bq) : 0;
            const int64_t last = j >= bk ? bqp : bq;
            std::fill(prow, prow + first, 0.0f);
            std::fill(drow, drow + first, 0.0f);
            softmax_backward_row(prow, drow, lh + i0, delta.data() + i0, first, last, a.scale);
            std::fill(prow + last, prow + bqp, 0.0f);
            std::fill(drow + last, drow + bqp, 0.0f);
          }
          amx::pack_rows(st.data(), bqp, bkp, bqp, 1.0f, p_rows.data(), bkp, bqp);
          amx::pack_rows(dpt.data(), bqp, bkp, bqp, 1.0f, ds_rows.data(), bkp, bqp);
          amx::pack_pairs(dpt.data(), bqp, bkp, bqp, ds_pairs.data(), bkp, bqp);
          gemm(bkp, dvp, bqp, p_rows.data(), bqp, dout_pairs.data() + i0 * dvp, 2 * dvp, dv_acc.data() + j0 * dvp, dvp,
               true);
          gemm(bkp, dp, bqp, ds_rows.data(), bqp, q_pairs.data() + i0 * dp, 2 * dp, dk_acc.data() + j0 * dp, dp, true);
          gemm(dp, bqp, bkp, k_cols_as_rows.data() + j0, sp, ds_pairs.data(), 2 * bqp, dq_t.data() + i0, tp, true);
        }
      }
      float *dqh = dq + a.q_layout.offset(h), *dkh = dk + a.k_layout.offset(h), *dvh = dv + a.v_layout.offset(h);
      for (int64_t i = 0; i < a.t; ++i)
        for (int64_t c = 0; c < a.d; ++c) dqh[i * ldq + c] = dq_t[c * tp + i];
      for (int64_t j = 0; j < a.s; ++j) {
        std::copy_n(dk_acc.data() + j * dp, a.d, dkh + j * ldk);
        std::copy_n(dv_acc.data() + j * dvp, a.dv, dvh + j * ldv);
      }
    }
  }
}

}  // namespace nabla::kernels
