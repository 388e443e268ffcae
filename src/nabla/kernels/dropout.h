// Fused dropout: a counter-based hash decides each element, so the mask costs a few integer
// ops per element, is the same for any thread count, and needs one draw from the generator.
#pragma once
#include <cstdint>

namespace nabla::kernels {

// y = keep ? x * scale : 0 and mask = keep (1/0) over n contiguous floats, where element i is
// kept when hash(key, i) < threshold (threshold = keep probability * 2^32).
void dropout_forward(const float* x, float* y, uint8_t* mask, int64_t n, uint64_t key, uint32_t threshold, float scale);
// dx = mask ? g * scale : 0.
void dropout_backward(const float* g, const uint8_t* mask, float* dx, int64_t n, float scale);

}  // namespace nabla::kernels
