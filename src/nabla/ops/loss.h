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
// PyTorch's kl_div: KL(target || exp(input)) per element, with input log-probabilities and target
// probabilities (log-probabilities with log_target); reduction "batchmean" (the true KL of each
// row, averaged over the batch: sum / size(0)), "mean", "sum" or "none". The target is a constant
// (no gradient flows to it), as a distillation teacher's is.
Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
              bool log_target = false);
// Knowledge distillation's soft-target loss (Hinton et al.): T^2 * KL(softmax(teacher / T) ||
// softmax(student / T)), the KL summed over the last (class) dimension and averaged over every
// other position (a classifier's examples, a language model's tokens). T^2 keeps its gradient's
// scale independent of T. The teacher's logits are constants.
Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, double temperature);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index = -100,
                const std::string& reduction = "mean");

}  // namespace nabla
