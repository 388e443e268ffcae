// Element copy between two tensors of the same shape, any strides, any dtypes (converting).
// The one primitive behind contiguous(), clone(), to(dtype) and copy_().
#pragma once
#include "nabla/core/tensor.h"

namespace nabla {

// dst and src must have equal shapes; src may be a broadcast view (zero strides).
void copy_elements(const Tensor& src, const Tensor& dst);

// Merges adjacent dimensions that are contiguous in every one of the given stride sets,
// so loops run over as few, as long dimensions as possible.
void coalesce_dims(Shape& shape, std::initializer_list<Shape*> strides);

}  // namespace nabla
