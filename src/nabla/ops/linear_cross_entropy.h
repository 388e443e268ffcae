// The cross-entropy of a linear layer's class scores, input @ weight^T, against class indices,
// computed a block of rows at a time so the [rows, classes] score matrix never exists whole. For a
// language model's head that matrix is the largest tensor of a training step (4 x 1024 tokens by
// GPT-2's 50257 words: 823 MB of scores and as much again of their gradient).
#pragma once
#include "nabla/core/tensor.h"
#include "nabla/ops/loss.h"

namespace nabla {

// input f32 [..., C], weight f32 [V, C], target i64 class indices of input's leading shape.
// The same value and gradients as cross_entropy(matmul(input, weight.t()) flattened to rows, target,
// options), for reductions "mean" and "sum". With a gradient to take, each block's gradient is
// formed while its scores are at hand (it needs them), so backward only scales what forward kept:
// the input's gradient [..., C] and the weight's [V, C].
// `predicted`, when given, receives each row's highest-scoring class (i64, target's shape).
Tensor linear_cross_entropy(const Tensor& input, const Tensor& weight, const Tensor& target,
                            const CrossEntropyOptions& options = {}, Tensor* predicted = nullptr);

}  // namespace nabla
