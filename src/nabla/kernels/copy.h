// Element copy between two tensors of the same shape, any strides, any dtypes (converting): the
// one primitive behind contiguous(), clone(), to(dtype) and copy_().
#pragma once
#include "nabla/core/tensor.h"

namespace nabla::kernels {

// dst and src must have equal shapes; src may be a broadcast view (zero strides).
void copy_elements(const Tensor& src, const Tensor& dst);
// Always copies into fresh packed storage.
Tensor contiguous_copy(const Tensor& t);

}  // namespace nabla::kernels
