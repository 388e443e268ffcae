#include "nabla/kernels/packed_gemm.h"

#include <algorithm>

#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {
namespace {

constexpr int64_t kPanel = 16;  // columns per panel: two AVX2 registers, one AVX-512 register

int64_t panel_count(int64_t n) { return (n + kPanel - 1) / kPanel; }

#ifdef NABLA_AVX2
// One row's step along k: its A value times the panel's two halves, into its two accumulators.
[[gnu::always_inline]] inline void fma_row(const float* a_row, int64_t q, __m256 b0, __m256 b1, __m256& lo,
                                           __m256& hi) {
  const __m256 x = _mm256_broadcast_ss(a_row + q);
  lo = _mm256_fmadd_ps(x, b0, lo);
  hi = _mm256_fmadd_ps(x, b1, hi);
}

// The AVX2 kernel's k loop: each step broadcasts R rows' A values against two B vectors
// (`load(q, b0, b1)`) into 2R accumulators, which stay in the caller's registers (named, not an
// array). Rows past R are never read; they point at row 0 so no pointer leaves A.
template <int R, typename Vec, typename Load>
[[gnu::always_inline]] inline void rows_along_k(const float* a, int64_t lda, int64_t k, Load load, Vec& c00, Vec& c01,
                                                Vec& c10, Vec& c11, Vec& c20, Vec& c21, Vec& c30, Vec& c31, Vec& c40,
                                                Vec& c41, Vec& c50, Vec& c51) {
  const float *a0 = a, *a1 = R > 1 ? a + lda : a, *a2 = R > 2 ? a + 2 * lda : a, *a3 = R > 3 ? a + 3 * lda : a,
              *a4 = R > 4 ? a + 4 * lda : a, *a5 = R > 5 ? a + 5 * lda : a;
  for (int64_t q = 0; q < k; ++q) {
    Vec b0, b1;
    load(q, b0, b1);
    fma_row(a0, q, b0, b1, c00, c01);
    if constexpr (R > 1) fma_row(a1, q, b0, b1, c10, c11);
    if constexpr (R > 2) fma_row(a2, q, b0, b1, c20, c21);
    if constexpr (R > 3) fma_row(a3, q, b0, b1, c30, c31);
    if constexpr (R > 4) fma_row(a4, q, b0, b1, c40, c41);
    if constexpr (R > 5) fma_row(a5, q, b0, b1, c50, c51);
  }
}

// R rows (1..6) times one 16-column panel: 2R accumulators stay in registers over all of k (named,
// not an array, so the compiler keeps them there). `width` < 16 only in the last panel.
template <int R>
void panel_kernel(const float* a, int64_t lda, const float* panel, int64_t k, float* c, int64_t ldc, int64_t width,
                  bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  rows_along_k<R>(
      a, lda, k,
      [panel](int64_t q, __m256& b0, __m256& b1) {
        b0 = _mm256_loadu_ps(panel + q * kPanel);
        b1 = _mm256_loadu_ps(panel + q * kPanel + 8);
      },
      c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
  const __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int r = 0; r < R; ++r) {
    float* out = c + r * ldc;
    if (width == kPanel) {
      __m256 lo = rows[r][0], hi = rows[r][1];
      if (accumulate) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(out));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(out + 8));
      }
      _mm256_storeu_ps(out, lo);
      _mm256_storeu_ps(out + 8, hi);
    } else {
      alignas(32) float lanes[kPanel];
      _mm256_store_ps(lanes, rows[r][0]);
      _mm256_store_ps(lanes + 8, rows[r][1]);
      for (int64_t j = 0; j < width; ++j) out[j] = accumulate ? out[j] + lanes[j] : lanes[j];
    }
  }
}

#ifdef __AVX512F__
// With AVX-512 a panel row is one register, so R rows take P panels at once (16 P columns), R x P
// accumulators in registers. P = 4 takes 4 loads and R broadcasts per 4R multiply-adds along k;
// a pair (P = 2) has the AVX2 kernel's 12 accumulators, loads and broadcasts at twice the width
// (GRU 512 step shapes, P = 4 against the pair, alternating in one process: 7-18% faster). Each
// element sums over k in order, so results are the AVX2 kernel's bit for bit. Panels past the
// last repeat it and are masked off, as are the columns past n.
template <int R, int P>
void panels_kernel(const float* a, int64_t lda, const float* panels, int64_t p, int64_t n, int64_t k, float* c,
                   int64_t ldc, bool accumulate) {
  const float* panel[P];
  for (int j = 0; j < P; ++j) panel[j] = panels + std::min(p + j, panel_count(n) - 1) * k * kPanel;
  __m512 acc[R][P];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t q = 0; q < k; ++q) {
    __m512 b[P];
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j) b[j] = _mm512_loadu_ps(panel[j] + q * kPanel);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * lda + q]);
#pragma GCC unroll 8
      for (int j = 0; j < P; ++j) acc[r][j] = _mm512_fmadd_ps(x, b[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < P; ++j) {
    const int64_t count = std::clamp<int64_t>(n - (p + j) * kPanel, 0, kPanel);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      float* out = c + r * ldc + (p + j) * kPanel;
      __m512 v = acc[r][j];
      if (accumulate) v = _mm512_add_ps(v, vec::load_first<__m512>(out, count));  // masked: never past n
      vec::store_first(out, v, count);
    }
  }
}

// Panels the kernels take at once.
constexpr int64_t kPanelsPerStep = 4;

// R rows times panels p to p + 3 (64 columns), or p and p + 1 when no more remain.
template <int R>
void rows_times_panel_step(const float* a, int64_t lda, const float* panels, int64_t p, int64_t n, int64_t k, float* c,
                           int64_t ldc, bool accumulate) {
  if (panel_count(n) - p > 2) return panels_kernel<R, 4>(a, lda, panels, p, n, k, c, ldc, accumulate);
  panels_kernel<R, 2>(a, lda, panels, p, n, k, c, ldc, accumulate);
}
#else
constexpr int64_t kPanelsPerStep = 1;

// R rows times panel p (16 columns).
template <int R>
void rows_times_panel_step(const float* a, int64_t lda, const float* panels, int64_t p, int64_t n, int64_t k, float* c,
                           int64_t ldc, bool accumulate) {
  panel_kernel<R>(a, lda, panels + p * k * kPanel, k, c + p * kPanel, ldc, std::min(kPanel, n - p * kPanel),
                  accumulate);
}
#endif
#endif

}  // namespace

PackedWeight::PackedWeight(const float* b, int64_t n, int64_t k, int64_t n_stride, int64_t k_stride)
    : n_(n), k_(k), panels_(size_t(panel_count(n) * k * kPanel)) {
  float* dst = panels_.data();
  for (int64_t p = 0; p < panel_count(n); ++p)
    for (int64_t q = 0; q < k; ++q)
      for (int64_t j = 0; j < kPanel; ++j) {
        const int64_t col = p * kPanel + j;
        dst[(p * k + q) * kPanel + j] = col < n ? b[col * n_stride + q * k_stride] : 0.0f;
      }
}

void PackedWeight::multiply(const float* a, int64_t lda, int64_t m, float* c, int64_t ldc, bool accumulate) const {
#ifdef NABLA_AVX2
  using Kernel = void (*)(const float*, int64_t, const float*, int64_t, int64_t, int64_t, float*, int64_t, bool);
  static constexpr Kernel kernels[] = {rows_times_panel_step<1>, rows_times_panel_step<1>, rows_times_panel_step<2>,
                                       rows_times_panel_step<3>, rows_times_panel_step<4>, rows_times_panel_step<5>,
                                       rows_times_panel_step<6>};
  // Rows in groups of at most six (AVX2: 12 accumulators, 2 panel loads and 6 broadcasts per k;
  // AVX-512: 24, 4 and 6), as even as possible: 16 rows run as 6 + 5 + 5, since a group of four
  // leaves the FMA units half idle.
  // Panels outermost: every group reuses a panel from L1/L2, so the weight streams from memory (or
  // the shared L3) once per call, not once per group; a 3 MB GRU 512 weight does not fit L2.
  const int64_t groups = (m + 5) / 6;
  for (int64_t p = 0; p < panel_count(n_); p += kPanelsPerStep)
    for (int64_t g = 0, r = 0; g < groups; ++g) {
      const int64_t rows = (m - r) / (groups - g);
      kernels[rows](a + r * lda, lda, panels_.data(), p, n_, k_, c + r * ldc, ldc, accumulate);
      r += rows;
    }
#else
  for (int64_t r = 0; r < m; ++r)
    for (int64_t col = 0; col < n_; ++col) {
      const float* panel = panels_.data() + (col / kPanel) * k_ * kPanel + col % kPanel;
      float sum = 0.0f;
      for (int64_t q = 0; q < k_; ++q) sum += a[r * lda + q] * panel[q * kPanel];
      c[r * ldc + col] = accumulate ? c[r * ldc + col] + sum : sum;
    }
#endif
}

}  // namespace nabla::kernels
