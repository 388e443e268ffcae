// Fused scaled dot-product attention, flash-attention style: queries and keys are processed
// in blocks with an online softmax, so the T x S score matrix is never stored. Forward saves
// only the per-row logsumexp; backward recomputes the scores block by block.
#pragma once
#include <cstdint>
#include <vector>

namespace nabla::kernels {

struct AttentionShape {
  int64_t heads;   // flattened batch x heads
  int64_t t, s;    // query and key lengths
  int64_t d, dv;   // query/key width and value width
  float scale;
  bool causal;
  // Optional additive mask: mask[mask_offsets[h] + i * mask_row_stride + j * mask_col_stride].
  const float* mask = nullptr;
  std::vector<int64_t> mask_offsets;
  int64_t mask_row_stride = 0, mask_col_stride = 0;
};

// q [heads, t, d], k [heads, s, d], v [heads, s, dv] packed; out [heads, t, dv], lse [heads, t].
void attention_forward(const AttentionShape& a, const float* q, const float* k, const float* v, float* out, float* lse);
// Gradients (overwritten) from the forward output, its lse and the upstream gradient dout.
void attention_backward(const AttentionShape& a, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv);

}  // namespace nabla::kernels
