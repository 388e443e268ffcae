// Joining, splitting and indexing tensors.
#pragma once
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Pieces of split_size along dim (the last may be smaller); views, no copies.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
// Entries of x along dim at the i64 positions in index (1-D).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[i][j][k] = x[index[i][j][k]][j][k] for dim 0, etc. (PyTorch's gather).
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);

}  // namespace nabla
