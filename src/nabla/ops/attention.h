// Fused scaled dot-product attention: softmax(Q K^T * scale + mask) V in one blocked kernel
// (flash-attention style) that never stores the T x S score matrix.
#pragma once
#include <optional>

#include "nabla/core/tensor.h"

namespace nabla {

// q [..., T, D], k [..., S, D], v [..., S, Dv]; leading dims must match.
// mask: bool (true = attend) or f32 (added to the scores), broadcastable to [..., T, S].
// scale defaults to 1/sqrt(D). is_causal masks key j > query i (top-left aligned, as PyTorch).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = Tensor(),
                                    bool is_causal = false, std::optional<double> scale = std::nullopt);

}  // namespace nabla
