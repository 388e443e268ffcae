// The backward engine: walks the graph from a root once, in reverse topological order,
// summing gradients per node and freeing each node as soon as it has run.
#pragma once
#include "nabla/core/tensor.h"

namespace nabla::autograd {

void run_backward(const Tensor& root, const Tensor& gradient);

}  // namespace nabla::autograd
