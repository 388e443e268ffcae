// Mixed precision, as PyTorch's autocast: inside an AutocastGuard(DType::bf16), linear, matmul
// and conv2d multiply bf16 inputs with f32 accumulation and give f32 outputs; everything else
// (softmax, norms, losses, and the f32 master weights the optimizer updates) stays f32.
#pragma once
#include <string>

#include "nabla/core/tensor.h"

namespace nabla {

class AutocastGuard {
 public:
  explicit AutocastGuard(DType compute_dtype);  // f32 turns autocast off inside the scope
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  DType previous_;
};

// The GEMM input dtype in force on this thread: f32 (off) or bf16.
DType autocast_dtype();

// Whether this CPU multiplies bf16 natively (AVX512_BF16 or AMX). Without it bf16 is emulated:
// inputs are rounded to bf16's precision and multiplied in f32, which gives the same products
// (a bf16 x bf16 product is exact in f32) but no speed-up.
bool bf16_native();

// "fp32"/"f32"/"float32" -> f32, "bf16"/"bfloat16" -> bf16; anything else is an error naming both.
DType parse_precision(const std::string& name);

namespace detail {
// t (f32) in bf16 storage, rounded to nearest even.
Tensor to_bf16(const Tensor& t);
// t (f32) as a GEMM operand under bf16 autocast: bf16 storage when the CPU has bf16 GEMMs, else
// f32 rounded to bf16's precision. Not differentiable: ops call it on their raw operands.
Tensor bf16_gemm_operand(const Tensor& t);
// t rounded to bf16's precision in f32 storage (for kernels that only take f32, like conv).
Tensor round_to_bf16(const Tensor& t);
}  // namespace detail

}  // namespace nabla
