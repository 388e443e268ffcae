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

// Batch norm over [batch, channels, spatial]: statistics per channel across batch and spatial.
struct BatchNormShape {
  int64_t batch, channels, spatial;
};
// Training: the batch's mean and 1/sqrt(biased var + eps) per channel; running_mean/var (either
// may be null) move towards them by momentum, the variance unbiased, as PyTorch does.
void batch_norm_statistics(const float* x, const BatchNormShape& s, double eps, double momentum, float* mean,
                           float* rstd, float* running_mean, float* running_var);
// Evaluation: the running statistics as mean and 1/std.
void batch_norm_running_statistics(const float* running_mean, const float* running_var, int64_t channels, double eps,
                                   float* mean, float* rstd);
// y = (x - mean) * rstd * weight + bias; weight and bias may be null.
void batch_norm_forward(const float* x, const BatchNormShape& s, const float* mean, const float* rstd,
                        const float* weight, const float* bias, float* y);
// dx, dweight and dbias (all written); training: through the batch statistics, else through the
// fixed running ones.
void batch_norm_backward(const float* x, const float* g, const BatchNormShape& s, const float* mean, const float* rstd,
                         const float* weight, bool training, float* dx, float* dweight, float* dbias);

}  // namespace nabla::kernels
