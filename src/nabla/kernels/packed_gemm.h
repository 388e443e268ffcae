// A weight packed once for many products with few rows each: C[m, n] (+)= A[m, k] B^T. The
// recurrent layers' step, h W_hh^T, is 100s of such products against one weight per sequence;
// oneDNN's sgemm would re-pack the weight (and allocate for it) on every one of them.
#pragma once
#include <cstdint>

#include "nabla/core/allocator.h"

namespace nabla::kernels {

class PackedWeight {
 public:
  // B[j][q] = b[j * n_stride + q * k_stride] for j < n, q < k: any strides, so a weight and its
  // transpose pack from the same storage.
  PackedWeight(const float* b, int64_t n, int64_t k, int64_t n_stride, int64_t k_stride);

  // C[m, n] = A[m, k] B^T (plus C when accumulate); A and C rows lda and ldc floats apart.
  // Single-threaded: callers split rows across threads. Each element of C sums over k in order,
  // so a row's result does not depend on m or on which rows share a call.
  void multiply(const float* a, int64_t lda, int64_t m, float* c, int64_t ldc, bool accumulate = false) const;

  int64_t n() const { return n_; }
  int64_t k() const { return k_; }

 private:
  int64_t n_, k_;
  PooledBuffer<float> panels_;  // [ceil(n / 64)][k][64], zero past column n
};

}  // namespace nabla::kernels
