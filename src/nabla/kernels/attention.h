// Fused scaled dot-product attention, flash-attention style: queries and keys are processed
// in blocks with an online softmax, so the T x S score matrix is never stored. Forward saves
// only the per-row logsumexp; backward recomputes the scores block by block.
#pragma once
#include <cstdint>
#include <vector>

namespace nabla::kernels {

// Where head h's row i starts in one of the operands: heads are numbered batch-major
// (h = b * per_batch + head), rows are row_stride floats apart and each row is contiguous. A
// packed [heads, rows, width] tensor is packed(rows, width); the heads of a [B, T, 3E] self-
// attention projection are read (and their gradients written) in place.
struct AttentionLayout {
  int64_t per_batch = 1, batch_stride = 0, head_stride = 0, row_stride = 0;
  static AttentionLayout packed(int64_t rows, int64_t width) { return {1, rows * width, 0, width}; }
  int64_t offset(int64_t h) const { return (h / per_batch) * batch_stride + (h % per_batch) * head_stride; }
};

struct AttentionShape {
  int64_t heads;  // flattened batch x heads
  int64_t t, s;   // query and key lengths
  int64_t d, dv;  // query/key width and value width
  float scale;
  bool causal;
  // Multiply the tiles in bf16 on AMX (bf16 autocast): needs amx::available() and no mask.
  bool bf16_tiles = false;
  // q and dq, k and dk, v and dv, out and dout share a layout.
  AttentionLayout q_layout, k_layout, v_layout, out_layout;
  void set_packed() {
    q_layout = AttentionLayout::packed(t, d);
    k_layout = AttentionLayout::packed(s, d);
    v_layout = AttentionLayout::packed(s, dv);
    out_layout = AttentionLayout::packed(t, dv);
  }
  // Optional additive mask: mask[mask_offsets[h] + i * mask_row_stride + j * mask_col_stride].
  const float* mask = nullptr;
  std::vector<int64_t> mask_offsets;
  int64_t mask_row_stride = 0, mask_col_stride = 0;
};

// q [heads, t, d], k [heads, s, d], v [heads, s, dv] and out [heads, t, dv] as their layouts
// say; lse [heads, t] packed.
void attention_forward(const AttentionShape& a, const float* q, const float* k, const float* v, float* out, float* lse);
// Gradients (overwritten) from the forward output, its lse and the upstream gradient dout.
void attention_backward(const AttentionShape& a, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv);

// For one head's rows of out and dout (at the head's offset): delta_i = dout_i . out_i, the
// softmax backward's row term. Shared by the f32 and the AMX kernels.
void output_gradient_dots(const AttentionShape& a, const float* out, const float* dout, float* delta);

}  // namespace nabla::kernels
