// f32 -> bf16 conversions for mixed precision, vectorised and threaded: to bf16 storage, or to
// bf16's precision kept in f32 storage (what emulated bf16 GEMMs multiply).
#pragma once
#include <cstdint>

#include "nabla/core/dtype.h"

namespace nabla::kernels {

// Both round to nearest even and keep NaN a NaN, like bf16::from_float and PyTorch.
void f32_to_bf16(const float* x, bf16* y, int64_t n);
void round_to_bf16(const float* x, float* y, int64_t n);

}  // namespace nabla::kernels
