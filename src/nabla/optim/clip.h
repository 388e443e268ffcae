// Gradient clipping, applied between backward() and the optimizer's step(), as
// torch.nn.utils.clip_grad_norm_ / clip_grad_value_. Parameters without a gradient are skipped.
#pragma once
#include <limits>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla::optim {

// Scales all gradients by max_norm / (total_norm + 1e-6) when that is below 1, where total_norm is
// the p-norm of every gradient element taken together (norm_type > 0, or infinity for the max).
// Returns total_norm before clipping. With error_if_nonfinite, a NaN/inf norm throws instead.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

constexpr double kInfinityNorm = std::numeric_limits<double>::infinity();

}  // namespace nabla::optim
