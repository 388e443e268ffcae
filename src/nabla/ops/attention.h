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

// Multi-head self-attention read straight from a fused q/k/v projection: qkv is [B, T, 3E]
// (or [T, B, 3E] when time_major), its last dimension q | k | v, each num_heads heads of
// E / num_heads. Returns the heads' outputs merged, [B, T, E] (or [T, B, E]), scaled by
// 1/sqrt(head_dim). The same as splitting the projection, attending over [B, heads, T, head_dim]
// views and merging them, without the copies in between; backward writes one [.., 3E] gradient
// where the split would zero-fill three and add them.
Tensor self_attention_heads(const Tensor& qkv, int64_t num_heads, bool is_causal, bool time_major = false);

}  // namespace nabla
