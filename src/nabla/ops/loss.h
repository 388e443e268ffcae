// Loss functions. reduction: "mean" (default), "sum" or "none".
#pragma once
#include <string>

#include "nabla/core/tensor.h"

namespace nabla {

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
// input holds probabilities in [0, 1]; weight (optional) rescales each element.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            const std::string& reduction = "mean");
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& pos_weight = Tensor(),
                                        const std::string& reduction = "mean");

struct CrossEntropyOptions {
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
  std::string reduction = "mean";
};
// Fused log-softmax + NLL. logits [N, C] or [N, C, d1, ...]; target: i64 class indices
// [N] / [N, d1, ...], or f32 class probabilities shaped like logits.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index = -100,
                const std::string& reduction = "mean");

}  // namespace nabla
