// Reductions over the middle axis of a contiguous [outer, reduce, inner] block. The ops layer
// permutes any set of reduced dims into that form.
#pragma once
#include <cstdint>

namespace nabla::kernels {

// y[o, i] = sum_k x[o, k, i]
void sum_reduce(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner);
// y[o, i] = sum_k (x[o, k, i] - mean[o, i])^2, two-pass for accuracy.
void squared_deviation_reduce(const float* x, const float* mean, float* y, int64_t outer, int64_t reduce,
                              int64_t inner);
// Largest (or smallest) value and its first index along the reduce axis; NaN wins, like PyTorch.
void max_reduce(const float* x, float* values, int64_t* indices, int64_t outer, int64_t reduce, int64_t inner);
void min_reduce(const float* x, float* values, int64_t* indices, int64_t outer, int64_t reduce, int64_t inner);

}  // namespace nabla::kernels
