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

// Over n contiguous floats, in double: sum |x|^p, or max |x| for p = infinity (clip_grad_norm_).
double norm_accumulate(const float* x, int64_t n, double p);
// Whether no element is NaN or infinite.
bool all_finite(const float* x, int64_t n);
// x[i] *= factor and x[i] = clamp(x[i], lo, hi), in place.
void scale_in_place(float* x, int64_t n, float factor);
void clamp_in_place(float* x, int64_t n, float lo, float hi);

}  // namespace nabla::kernels
