// Matrix products (oneDNN GEMM underneath).
#pragma once
#include "nabla/core/tensor.h"

namespace nabla {

// PyTorch's matmul: 1-D x 1-D dot, 2-D x 2-D, batched with broadcasting over batch dims;
// transposed operands are consumed as views, without a copy. bf16 inputs accumulate in f32.
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x W^T + b with weight [out, in] (PyTorch's layout); bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace nabla
