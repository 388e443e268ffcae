// Products of one to four rows (decoding a token at a time): C[m, n] (+)= A[m, k] B[k, n]. They
// read every element of B once for two flops, so they run at the speed of memory, and oneDNN's
// blocked GEMM streams a GPT medium layer's weights at 18 GB/s where plain loops reach 30+.
#pragma once
#include <cstdint>

#include "nabla/kernels/matmul.h"

namespace nabla::kernels {

// Whether matrix_vector takes this product: f32, one matrix, m <= 4, A's rows contiguous, and B
// contiguous along k (a transposed weight, W[n, k]) or along n.
bool fits_matrix_vector(const MatrixOperand& a, const MatrixOperand& b, int64_t batch, int64_t m);

// C contiguous [m, n]; columns split across threads when B is large.
void matrix_vector(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t m, int64_t k, int64_t n,
                   bool accumulate);

}  // namespace nabla::kernels
