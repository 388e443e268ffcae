// The layer-shaped ops: embedding, dropout, layer norm, batch norm.
#pragma once
#include <optional>
#include <vector>

#include "nabla/core/random.h"
#include "nabla/core/tensor.h"

namespace nabla {

// Rows of weight [num, dim] picked by i64 indices of any shape; padding_idx rows get no gradient.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);

// Zeroes elements with probability p and scales the rest by 1/(1-p); identity when !training.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

// Normalises over the trailing dims given by normalized_shape; weight/bias may be undefined.
Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// x [N, C, ...]. In training uses batch statistics and updates running stats in place
// (unbiased variance, PyTorch's momentum convention); otherwise uses the running stats.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

}  // namespace nabla
