#include "nabla/kernels/matrix_vector.h"

#include <algorithm>

#include "nabla/kernels/parallel.h"

namespace nabla::kernels {
namespace {

constexpr int64_t kMaxRows = 4;
constexpr int64_t kColumnBlock = 64;  // columns a thread takes at a time

// B^T rows contiguous (a weight W[n, k] read as W^T): four dot products at once, so four
// accumulators hide the FMA latency, and the four W rows stay in L1 for every row of A.
void dot_columns(const float* a, int64_t lda, const float* w, int64_t ldw, float* c, int64_t m, int64_t k, int64_t n,
                 int64_t j0, int64_t j1, bool accumulate) {
  int64_t j = j0;
  for (; j + 4 <= j1; j += 4) {
    const float *w0 = w + j * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
    for (int64_t i = 0; i < m; ++i) {
      const float* x = a + i * lda;
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (int64_t q = 0; q < k; ++q) {
        s0 += x[q] * w0[q];
        s1 += x[q] * w1[q];
        s2 += x[q] * w2[q];
        s3 += x[q] * w3[q];
      }
      float* out = c + i * n + j;
      const float sums[4] = {s0, s1, s2, s3};
      for (int u = 0; u < 4; ++u) out[u] = accumulate ? out[u] + sums[u] : sums[u];
    }
  }
  for (; j < j1; ++j)
    for (int64_t i = 0; i < m; ++i) {
      const float *x = a + i * lda, *wj = w + j * ldw;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t q = 0; q < k; ++q) s += x[q] * wj[q];
      c[i * n + j] = accumulate ? c[i * n + j] + s : s;
    }
}

// B rows contiguous along n: each row of A scales B's rows into its block of C.
void axpy_rows(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t m, int64_t k, int64_t n,
               int64_t j0, int64_t j1, bool accumulate) {
  for (int64_t i = 0; i < m; ++i) {
    float* out = c + i * n;
    if (!accumulate) std::fill(out + j0, out + j1, 0.0f);
  }
  for (int64_t q = 0; q < k; ++q) {
    const float* row = b + q * ldb;
    for (int64_t i = 0; i < m; ++i) {
      const float x = a[i * lda + q];
      float* out = c + i * n;
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) out[j] += x * row[j];
    }
  }
}

}  // namespace

bool fits_matrix_vector(const MatrixOperand& a, const MatrixOperand& b, int64_t batch, int64_t m) {
  return a.dtype == DType::f32 && batch == 1 && m <= kMaxRows && a.col_stride == 1 &&
         (b.row_stride == 1 || b.col_stride == 1);
}

void matrix_vector(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t m, int64_t k, int64_t n,
                   bool accumulate) {
  const float* ap = static_cast<const float*>(a.data);
  const float* bp = static_cast<const float*>(b.data);
  const bool dot = b.row_stride == 1;
  const int64_t blocks = (n + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for if (k * n > kParallelGrain * 2) schedule(static)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t j0 = block * kColumnBlock, j1 = std::min(n, j0 + kColumnBlock);
    if (dot)
      dot_columns(ap, a.row_stride, bp, b.col_stride, c, m, k, n, j0, j1, accumulate);
    else
      axpy_rows(ap, a.row_stride, bp, b.row_stride, c, m, k, n, j0, j1, accumulate);
  }
}

}  // namespace nabla::kernels
