// Products too small or too thin for oneDNN: C[m, n] (+)= A[m, k] B[k, n] in plain loops.
// Tiny ones (a decoded token's query against the cache) cost less inline than any library call.
// Those of one to four rows (decoding a token at a time) read every element of B once for two
// flops, so they run at the speed of memory, and oneDNN's blocked GEMM streams a GPT medium
// layer's weights at 18 GB/s where plain loops reach 30+.
#pragma once
#include <cstdint>

#include "nabla/kernels/matmul.h"

namespace nabla::kernels {

// On the calling thread, any strides (the operands' batch fields are ignored), C rows ldc apart.
// Dot products where A and B both run contiguously along k (B a weight read as W^T), else B's
// rows scaled into C.
void small_gemm(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t ldc, int64_t m, int64_t k, int64_t n,
                bool accumulate);

// Whether matrix_vector takes this product: f32, one matrix, m <= 4, A's rows contiguous, and B
// contiguous along k (a transposed weight, W[n, k]) or along n.
bool fits_matrix_vector(const MatrixOperand& a, const MatrixOperand& b, int64_t batch, int64_t m);

// small_gemm with C contiguous [m, n], columns split across threads when B is large.
void matrix_vector(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t m, int64_t k, int64_t n,
                   bool accumulate);

}  // namespace nabla::kernels
