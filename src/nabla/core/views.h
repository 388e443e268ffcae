// Raw view arithmetic: new shapes and strides over the same storage, no autograd. The
// differentiable Tensor methods (nabla/ops/views.cpp) are thin wrappers over these.
#pragma once
#include <initializer_list>
#include <optional>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla::views {

Tensor as_strided(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset);
Tensor expand(const Tensor& t, const Shape& shape);  // broadcasting rules; -1 keeps a size
Tensor permute(const Tensor& t, const std::vector<int64_t>& dims);
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor squeeze(const Tensor& t, std::optional<int64_t> dim);
// Strides for viewing t as `shape` without a copy, if its layout allows.
std::optional<Shape> view_strides(const Tensor& t, const Shape& shape);
// Resolves one -1 in a requested shape and checks the element count.
Shape infer_shape(const Shape& requested, int64_t numel, const char* op);
// Merges adjacent dimensions that are contiguous in every one of the given stride sets, so loops
// run over as few, as long dimensions as possible.
void coalesce_dims(Shape& shape, std::initializer_list<Shape*> strides);

}  // namespace nabla::views
