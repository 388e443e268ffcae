// Softmax and log-softmax over the middle axis of a contiguous [outer, n, inner] block.
#pragma once
#include <cstdint>

namespace nabla::kernels {

void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log);
// dx from the forward output y and upstream gradient g.
void softmax_backward(const float* y, const float* g, float* dx, int64_t outer, int64_t n, int64_t inner, bool log);

// One row in place-safe form, used by fused kernels (cross-entropy, attention).
float row_max(const float* x, int64_t n);
// y = exp(x - shift), returns the sum of y.
float row_exp_sum(const float* x, float* y, int64_t n, float shift);

}  // namespace nabla::kernels
