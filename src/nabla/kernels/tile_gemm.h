// Small products on the calling thread: C[m, n] (+)= A[m, k] B[k, n], for attention's tiles (tens
// to a few hundred rows and columns) and the recurrent step's panels (PackedWeight). Nothing is
// packed here: B's rows are read in place and stay in L1 across the row groups, and A is read with
// any strides, so a tile and its transpose are both A operands. A BLAS sgemm packs both operands
// on every call, which on these sizes costs about as much as the arithmetic.
#pragma once
#include <cstdint>

namespace nabla::kernels {

// A(i, p) = a[i * a_row + p * a_col]: a row-major A has a_col = 1, the transpose of a row-major
// matrix a_row = 1. B's rows and C's rows are ldb and ldc floats apart. Each element of C sums
// over p in order, so results do not depend on m, n or how callers split them.
void tile_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace nabla::kernels
