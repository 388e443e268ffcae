// The fused attention kernel with its tile products in bf16 on AMX (f32 accumulation), for bf16
// autocast. Softmax, its statistics and the gradients' accumulation stay in f32. attention.cpp
// dispatches here when AttentionShape::bf16_tiles is set.
#pragma once
#include "nabla/kernels/attention.h"

namespace nabla::kernels {

void attention_forward_amx(const AttentionShape& a, const float* q, const float* k, const float* v, float* out,
                           float* lse);
void attention_backward_amx(const AttentionShape& a, const float* q, const float* k, const float* v, const float* out,
                            const float* lse, const float* dout, float* dq, float* dk, float* dv);

}  // namespace nabla::kernels
