#include "nabla/kernels/embedding.h"

#include <cstring>

namespace nabla::kernels {

void embedding_forward(const float* table, const int64_t* indices, int64_t count, int64_t width, float* out) {
#pragma omp parallel for if (count * width > (1 << 15)) schedule(static)
  for (int64_t i = 0; i < count; ++i) std::memcpy(out + i * width, table + indices[i] * width, width * sizeof(float));
}

void embedding_backward(const float* grad, const int64_t* indices, int64_t count, int64_t width, int64_t padding_idx,
                        float* d_table) {
  // One thread: a token seen twice accumulates both gradients into one row.
  for (int64_t i = 0; i < count; ++i) {
    if (indices[i] == padding_idx) continue;
    float* row = d_table + indices[i] * width;
    const float* src = grad + i * width;
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) row[j] += src[j];
  }
}

}  // namespace nabla::kernels
