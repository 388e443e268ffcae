// Embedding lookup: rows of a [num, width] table gathered by index, and their gradient scattered back.
#pragma once
#include <cstdint>

namespace nabla::kernels {

// out[i] = table[indices[i]] for count indices (already checked to be in range).
void embedding_forward(const float* table, const int64_t* indices, int64_t count, int64_t width, float* out);
// d_table (zeroed by the caller) accumulates grad[i] into row indices[i]; rows equal to
// padding_idx get nothing (pass -1 for none).
void embedding_backward(const float* grad, const int64_t* indices, int64_t count, int64_t width, int64_t padding_idx,
                        float* d_table);

}  // namespace nabla::kernels
