#include "nabla/kernels/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "nabla/core/profiler.h"
#include "nabla/kernels/attention_amx.h"
#include "nabla/kernels/small_gemm.h"
#include "nabla/kernels/softmax.h"
#include "nabla/kernels/strided_copy.h"
#include "nabla/kernels/tile_gemm.h"

namespace nabla::kernels {
namespace {

constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 128;
// From this many queries on, each head's keys and values are packed once and every tile product
// runs on tile_gemm. Fewer (a decoded token) multiply against the keys and values in place: for
// so few queries, packing would cost as much memory traffic as the product itself.
constexpr int64_t kPackedFrom = 16;

// C = A B (+ C) for a tile, on the calling thread; A(i, p) = a[i * a_row + p * a_col].
void product(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
             float* c, int64_t ldc, bool accumulate) {
  profiler::add_flops(2.0 * double(m) * double(n) * double(k));
  tile_gemm(m, n, k, a, a_row, a_col, b, ldb, c, ldc, accumulate);
}

// The same against operands in place, for few queries: S = Q K^T as dot products along d, O += P V
// as P's values times V's rows.
void product_in_place(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t b_row,
                      int64_t b_col, float* c, int64_t ldc, bool accumulate) {
  profiler::add_flops(2.0 * double(m) * double(n) * double(k));
  small_gemm({a, DType::f32, 1, 0, lda, 1}, {b, DType::f32, 1, 0, b_row, b_col}, c, ldc, m, k, n, accumulate);
}

// After the product S = (q * scale) k^T: add the additive mask, if any.
void add_mask(const AttentionShape& a, int64_t head, int64_t i0, int64_t bq, int64_t j0, int64_t bk, float* s,
              int64_t ld) {
  if (!a.mask) return;
  for (int64_t i = 0; i < bq; ++i) {
    float* row = s + i * ld;
    const float* m = a.mask + a.mask_offsets[head] + (i0 + i) * a.mask_row_stride + j0 * a.mask_col_stride;
    for (int64_t j = 0; j < bk; ++j) row[j] += m[j * a.mask_col_stride];
  }
}

// How many of the bk keys from j0 query `row` sees: all, or for causal attention those up to its
// own position. The rest get exactly zero weight, and no exp is spent on them.
int64_t visible_count(const AttentionShape& a, int64_t row, int64_t j0, int64_t bk) {
  return a.causal ? std::clamp<int64_t>(row + 1 - j0, 0, bk) : bk;
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

void attention_forward(const AttentionShape& a, const float* q, const float* k, const float* v, float* out,
                       float* lse) {
  if (a.bf16_tiles) return attention_forward_amx(a, q, k, v, out, lse);
  const int64_t q_blocks = (a.t + kQueryBlock - 1) / kQueryBlock;
  const int64_t ldq = a.q_layout.row_stride, ldk = a.k_layout.row_stride, ldv = a.v_layout.row_stride,
                ldo = a.out_layout.row_stride;
  // A work item is a run of one head's query blocks: whole heads when there are enough for every
  // thread, else each head's blocks split into as many runs as it takes to occupy them.
  const int64_t threads = omp_get_max_threads();
  const int64_t runs = std::min(q_blocks, (threads + a.heads - 1) / a.heads), work = a.heads * runs;
  const bool packed = a.t >= kPackedFrom;
#pragma omp parallel if (work > 1 && a.heads * a.t * a.s * a.d > (1 << 16))
  {
    // A run packs the keys and values its queries can see once, on its thread, where they stay
    // in cache: keys transposed ([d][keys], B of S = Q K^T) and values as rows ([keys][dv], B of
    // P V). In place, the rows of a [B, T, 3E] projection are pages apart, which slows
    // tile_gemm's B reads by a quarter.
    std::vector<float> keys_t(packed ? a.d * a.s : 0), values(packed ? a.s * a.dv : 0);
    // Sized for the rows a block can have: a decoded token's single query zero-fills no 64 KB.
    const int64_t rows = std::min(kQueryBlock, a.t);
    std::vector<float> qs(rows * a.d), s(rows * kKeyBlock), acc(rows * a.dv), m(rows), l(rows);
#pragma omp for schedule(dynamic)
    for (int64_t w = 0; w < work; ++w) {
      const int64_t h = w / runs, first_block = q_blocks * (w % runs) / runs,
                    end_block = q_blocks * (w % runs + 1) / runs;
      const float *qh = q + a.q_layout.offset(h), *kh = k + a.k_layout.offset(h), *vh = v + a.v_layout.offset(h);
      const int64_t packed_keys = key_limit(a, std::min(a.t, end_block * kQueryBlock));
      if (packed) {
        transpose(kh, ldk, packed_keys, a.d, keys_t.data(), packed_keys);
        copy_rows(vh, ldv, packed_keys, a.dv, values.data(), a.dv);
      }
      for (int64_t block = first_block; block < end_block; ++block) {
        const int64_t i0 = block * kQueryBlock, bq = std::min(kQueryBlock, a.t - i0);
        for (int64_t i = 0; i < bq; ++i) scale_copy(qh + (i0 + i) * ldq, qs.data() + i * a.d, a.d, a.scale);
        std::fill_n(acc.begin(), bq * a.dv, 0.0f);
        std::fill_n(m.begin(), bq, -INFINITY);
        std::fill_n(l.begin(), bq, 0.0f);
        const int64_t key_count = key_limit(a, i0 + bq);
        for (int64_t j0 = 0; j0 < key_count; j0 += kKeyBlock) {
          const int64_t bk = std::min(kKeyBlock, key_count - j0);
          if (packed)
            product(bq, bk, a.d, qs.data(), a.d, 1, keys_t.data() + j0, packed_keys, s.data(), bk, false);
          else
            product_in_place(bq, bk, a.d, qs.data(), a.d, kh + j0 * ldk, 1, ldk, s.data(), bk, false);
          add_mask(a, h, i0, bq, j0, bk, s.data(), bk);
          // Online softmax: rescale what was accumulated under the old row maximum.
          for (int64_t i = 0; i < bq; ++i) {
            float* row = s.data() + i * bk;
            const int64_t visible = visible_count(a, i0 + i, j0, bk);
            std::fill(row + visible, row + bk, 0.0f);
            const float new_m = std::max(m[i], row_max(row, visible));
            if (new_m == -INFINITY) {  // everything so far masked: contributes nothing
              std::fill(row, row + visible, 0.0f);
              continue;
            }
            const float correction = std::exp(m[i] - new_m);
            l[i] = l[i] * correction + row_exp_sum(row, row, visible, new_m);
            m[i] = new_m;
            float* acc_i = acc.data() + i * a.dv;
#pragma omp simd
            for (int64_t c = 0; c < a.dv; ++c) acc_i[c] *= correction;
          }
          if (packed)
            product(bq, a.dv, bk, s.data(), bk, 1, values.data() + j0 * a.dv, a.dv, acc.data(), a.dv, true);
          else
            product_in_place(bq, a.dv, bk, s.data(), bk, vh + j0 * ldv, ldv, 1, acc.data(), a.dv, true);
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
}

void attention_backward(const AttentionShape& a, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  if (a.bf16_tiles) return attention_backward_amx(a, q, k, v, out, lse, dout, dq, dk, dv);
  // Bigger tiles than the forward's query blocks: backward runs five products per tile.
  constexpr int64_t kBlock = 128;
  const int64_t ldq = a.q_layout.row_stride, ldk = a.k_layout.row_stride, ldv = a.v_layout.row_stride,
                ldo = a.out_layout.row_stride;
  auto zero_rows = [](float* x, int64_t rows, int64_t width, int64_t ld) {
    for (int64_t i = 0; i < rows; ++i) std::fill(x + i * ld, x + i * ld + width, 0.0f);
  };
  // Heads are independent, so each thread owns whole heads and accumulates dk/dv without races.
#pragma omp parallel if (a.heads > 1 && a.heads * a.t * a.s * a.d > (1 << 16))
  {
    // Per head, the operands packed as the products read them: scaled queries [t][d], keys as
    // rows [s][d] and transposed [d][s], values transposed [dv][s], dout [t][dv]; dQ accumulates
    // unscaled in dq_acc. dS is kept without the scale, which the products with the scaled
    // queries (dK) and the final dq (dQ) put back.
    std::vector<float> qs(a.t * a.d), k_rows(a.s * a.d), k_cols(a.d * a.s), v_cols(a.dv * a.s), dout_rows(a.t * a.dv),
        dq_acc(a.t * a.d), p(kBlock * kBlock), ds(kBlock * kBlock), delta(a.t);
#pragma omp for schedule(dynamic)
    for (int64_t h = 0; h < a.heads; ++h) {
      const float *qh = q + a.q_layout.offset(h), *kh = k + a.k_layout.offset(h), *vh = v + a.v_layout.offset(h);
      const float *oh = out + a.out_layout.offset(h), *doh = dout + a.out_layout.offset(h), *lh = lse + h * a.t;
      float *dqh = dq + a.q_layout.offset(h), *dkh = dk + a.k_layout.offset(h), *dvh = dv + a.v_layout.offset(h);
      zero_rows(dkh, a.s, a.d, ldk);
      zero_rows(dvh, a.s, a.dv, ldv);
      std::fill(dq_acc.begin(), dq_acc.end(), 0.0f);
      for (int64_t i = 0; i < a.t; ++i) scale_copy(qh + i * ldq, qs.data() + i * a.d, a.d, a.scale);
      copy_rows(kh, ldk, a.s, a.d, k_rows.data(), a.d);
      transpose(kh, ldk, a.s, a.d, k_cols.data(), a.s);
      transpose(vh, ldv, a.s, a.dv, v_cols.data(), a.s);
      copy_rows(doh, ldo, a.t, a.dv, dout_rows.data(), a.dv);
      output_gradient_dots(a, oh, doh, delta.data());
      // One tile: query rows [i0, i0 + bq) against keys [j0, j0 + bk).
      auto tile = [&](int64_t i0, int64_t bq, int64_t j0, int64_t bk) {
        const float *qs_i = qs.data() + i0 * a.d, *dout_i = dout_rows.data() + i0 * a.dv;
        // P = exp(S - lse), recomputed from the scores instead of stored by the forward pass.
        product(bq, bk, a.d, qs_i, a.d, 1, k_cols.data() + j0, a.s, p.data(), bk, false);
        add_mask(a, h, i0, bq, j0, bk, p.data(), bk);
        for (int64_t i = 0; i < bq; ++i) {
          float* row = p.data() + i * bk;
          const int64_t visible = visible_count(a, i0 + i, j0, bk);
          row_exp_sum(row, row, visible, lh[i0 + i]);
          std::fill(row + visible, row + bk, 0.0f);
        }
        // dV_j += P^T dO_i
        product(bk, a.dv, bq, p.data(), 1, bk, dout_i, a.dv, dvh + j0 * ldv, ldv, true);
        // dP = dO_i V_j^T, then dS = P (dP - delta) (unscaled)
        product(bq, bk, a.dv, dout_i, a.dv, 1, v_cols.data() + j0, a.s, ds.data(), bk, false);
        for (int64_t i = 0; i < bq; ++i) {
          const float di = delta[i0 + i];
          float *prow = p.data() + i * bk, *drow = ds.data() + i * bk;
#pragma omp simd
          for (int64_t j = 0; j < bk; ++j) drow[j] = prow[j] * (drow[j] - di);
        }
        // dQ_i += dS K_j (scaled at the end) ; dK_j += dS^T (scale Q_i)
        product(bq, a.d, bk, ds.data(), bk, 1, k_rows.data() + j0 * a.d, a.d, dq_acc.data() + i0 * a.d, a.d, true);
        product(bk, a.d, bq, ds.data(), 1, bk, qs_i, a.d, dkh + j0 * ldk, ldk, true);
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
      for (int64_t i = 0; i < a.t; ++i) scale_copy(dq_acc.data() + i * a.d, dqh + i * ldq, a.d, a.scale);
    }
  }
}

}  // namespace nabla::kernels
