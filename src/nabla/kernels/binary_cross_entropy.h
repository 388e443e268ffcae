// Binary cross-entropy element by element, on probabilities (log clamped at -100, as PyTorch) and
// on logits (the stable form), with an optional per-element weight (BCE) or pos_weight (logits).
// Backward gives d loss / d input times the upstream gradient g; targets are constants.
#pragma once
#include <cstdint>

namespace nabla::kernels {

// w may be null (weight 1).
void bce_forward(const float* p, const float* y, const float* w, float* loss, int64_t n);
void bce_backward(const float* p, const float* y, const float* w, const float* g, float* dp, int64_t n);
// pos_weight may be null (1).
void bce_with_logits_forward(const float* x, const float* y, const float* pos_weight, float* loss, int64_t n);
void bce_with_logits_backward(const float* x, const float* y, const float* pos_weight, const float* g, float* dx,
                              int64_t n);

}  // namespace nabla::kernels
