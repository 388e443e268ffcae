// Layer norm over the last `n` elements of each row: forward saves mean and 1/std per row,
// backward produces dx and accumulates dweight/dbias.
#pragma once
#include <cstdint>

namespace nabla::kernels {

void layer_norm_forward(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t n, float eps);
// dweight/dbias may be null; they are overwritten (not accumulated).
void layer_norm_backward(const float* x, const float* weight, const float* mean, const float* rstd, const float* g,
                         float* dx, float* dweight, float* dbias, int64_t rows, int64_t n);

}  // namespace nabla::kernels
