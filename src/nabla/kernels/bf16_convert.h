// f32 -> bf16 conversions for mixed precision, vectorised and threaded: to bf16 storage, or to
// bf16's precision kept in f32 storage (what emulated bf16 GEMMs multiply).
#pragma once
#include <bit>
#include <cstdint>

#include "nabla/core/dtype.h"

namespace nabla::kernels {

// The upper 16 bits of x rounded to nearest even; a NaN stays a (quiet) NaN. Branch-free so
// loops over it vectorise.
inline uint32_t rounded_high_bits(float x) {
  const auto u = std::bit_cast<uint32_t>(x);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
  return nan ? (u | 0x00400000u) & 0xffff0000u : rounded;
}

// Both round to nearest even and keep NaN a NaN, like bf16::from_float and PyTorch.
void f32_to_bf16(const float* x, bf16* y, int64_t n);
void round_to_bf16(const float* x, float* y, int64_t n);

}  // namespace nabla::kernels
