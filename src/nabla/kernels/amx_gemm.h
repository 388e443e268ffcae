// bf16 products on Intel AMX, for the attention kernel's tiles under bf16 autocast: C (f32) (+)=
// A B, A bf16 row-major, B bf16 in AMX's pair layout. One AMX instruction multiplies a 16x32 by
// a 32x16 tile; on 64-128-wide attention tiles that is 2.6-4x oneDNN's f32 sgemm (Intel Xeon).
// oneDNN 2.6 has no bf16 BLAS-style entry point, and its primitives cost more per call than a
// tile's arithmetic, so the tiles are written here.
#pragma once
#include <cstdint>

#include "nabla/core/dtype.h"

namespace nabla::kernels::amx {

// Whether this CPU has AMX-BF16 and the kernel lets this process use the tile registers.
bool available();

// Loads the tile configuration on this thread and releases the tiles at scope exit. oneDNN's
// kernels load their own configuration, so open one in every region that calls gemm.
class TileScope {
 public:
  TileScope();
  ~TileScope();
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
};

// Every dimension of gemm is a multiple of this; operands are zero-padded up to it.
constexpr int64_t kAlign = 32;
constexpr int64_t padded(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// C[m, n] (+)= A[m, k] B[k, n]. A's rows are lda elements apart. B is in pairs: B[k][n] is at
// b[(k / 2) * ldb + 2 * n + k % 2]. C is f32 with rows ldc apart. m, n and k are multiples of
// kAlign, and the caller holds a TileScope.
void gemm(int64_t m, int64_t n, int64_t k, const bf16* a, int64_t lda, const bf16* b, int64_t ldb, float* c,
          int64_t ldc, bool accumulate);

// Operands packed from f32 rows ld floats apart, rounded to nearest even, zero up to the padded
// sizes.
// A operand [rows_pad][cols_pad]: out[r][c] = x[r][c] * scale.
void pack_rows(const float* x, int64_t ld, int64_t rows, int64_t cols, float scale, bf16* out, int64_t rows_pad,
               int64_t cols_pad);
// A operand of x^T [cols_pad][rows_pad]: out[c][r] = x[r][c].
void pack_rows_transposed(const float* x, int64_t ld, int64_t rows, int64_t cols, bf16* out, int64_t cols_pad,
                          int64_t rows_pad);
// B operand with B[k][n] = x[k][n] (k = x's rows, n = its columns), ldb = 2 n_pad.
void pack_pairs(const float* x, int64_t ld, int64_t k, int64_t n, bf16* out, int64_t k_pad, int64_t n_pad);
// B operand with B[k][n] = x[n][k] * scale (x's rows become B's columns), ldb = 2 n_pad.
void pack_pairs_transposed(const float* x, int64_t ld, int64_t n, int64_t k, float scale, bf16* out, int64_t k_pad,
                           int64_t n_pad);

}  // namespace nabla::kernels::amx
