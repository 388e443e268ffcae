// Batched GEMM C[b] = A[b] @ B[b] through oneDNN, primitives cached by shape and strides (tiny
// products and those of 1-4 rows run in small_gemm.h's loops instead).
// Operands are strided views (a transposed operand is just swapped strides, never copied);
// a batch size of 1 on one side broadcasts. C is contiguous f32 [batch, M, N].
#pragma once
#include <cstdint>

#include "nabla/core/dtype.h"

namespace nabla::kernels {

struct MatrixOperand {
  const void* data;
  DType dtype;           // f32 or bf16 (both operands must agree)
  int64_t batch;         // 1 = broadcast across C's batch
  int64_t batch_stride;  // elements
  int64_t row_stride;
  int64_t col_stride;
};

// accumulate = true adds into C instead of overwriting it. bias (f32 [n], or null) is added to
// every row of C; oneDNN adds it while the tile is still in registers, not in a pass of its own.
void matmul(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n,
            bool accumulate = false, const float* bias = nullptr);

struct MatmulStats {
  uint64_t calls = 0, primitive_cache_hits = 0, inline_calls = 0, bf16_emulated = 0;
};
MatmulStats matmul_stats();

// Whether oneDNN runs bf16 GEMM natively on this CPU (else bf16 inputs are widened to f32).
bool bf16_gemm_native();

}  // namespace nabla::kernels
