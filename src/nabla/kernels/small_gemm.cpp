#include "nabla/kernels/small_gemm.h"

#include <algorithm>

#include "nabla/kernels/parallel.h"

namespace nabla::kernels {
namespace {

constexpr int64_t kMaxVectorRows = 4;
constexpr int64_t kColumnBlock = 64;  // columns a thread takes at a time

// Columns [j0, j1) as dot products, A and B^T rows contiguous (a weight W[n, k] read as W^T):
// four at once, so four accumulators hide the FMA latency and the four W rows stay in L1 for
// every row of A.
void dot_columns(const float* a, int64_t lda, const float* w, int64_t ldw, float* c, int64_t ldc, int64_t m, int64_t k,
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
      float* out = c + i * ldc + j;
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
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
    }
}

// Columns [j0, j1) as rows of B scaled by A's values and added into C; any strides.
void axpy_rows(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t ldc, int64_t m, int64_t k, int64_t j0,
               int64_t j1, bool accumulate) {
  const float* ap = static_cast<const float*>(a.data);
  const float* bp = static_cast<const float*>(b.data);
  if (!accumulate)
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc + j0, c + i * ldc + j1, 0.0f);
  for (int64_t q = 0; q < k; ++q) {
    const float* row = bp + q * b.row_stride;
    for (int64_t i = 0; i < m; ++i) {
      const float x = ap[i * a.row_stride + q * a.col_stride];
      float* out = c + i * ldc;
      if (b.col_stride == 1) {
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) out[j] += x * row[j];
      } else {
        for (int64_t j = j0; j < j1; ++j) out[j] += x * row[j * b.col_stride];
      }
    }
  }
}

void columns(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t ldc, int64_t m, int64_t k, int64_t j0,
             int64_t j1, bool accumulate) {
  if (a.col_stride == 1 && b.row_stride == 1)
    dot_columns(static_cast<const float*>(a.data), a.row_stride, static_cast<const float*>(b.data), b.col_stride, c,
                ldc, m, k, j0, j1, accumulate);
  else
    axpy_rows(a, b, c, ldc, m, k, j0, j1, accumulate);
}

}  // namespace

void small_gemm(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t ldc, int64_t m, int64_t k, int64_t n,
                bool accumulate) {
  columns(a, b, c, ldc, m, k, 0, n, accumulate);
}

bool fits_matrix_vector(const MatrixOperand& a, const MatrixOperand& b, int64_t batch, int64_t m) {
  return a.dtype == DType::f32 && batch == 1 && m <= kMaxVectorRows && a.col_stride == 1 &&
         (b.row_stride == 1 || b.col_stride == 1);
}

void matrix_vector(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t m, int64_t k, int64_t n,
                   bool accumulate) {
  const int64_t blocks = (n + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for if (k * n > kParallelGrain * 2) schedule(static)
  for (int64_t block = 0; block < blocks; ++block)
    columns(a, b, c, n, m, k, block * kColumnBlock, std::min(n, (block + 1) * kColumnBlock), accumulate);
}

}  // namespace nabla::kernels
