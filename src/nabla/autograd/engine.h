// The backward engine: walks the graph from a root once, in reverse topological order,
// summing gradients per node and freeing each node as soon as it has run.
#pragma once
#include <functional>

#include "nabla/core/tensor.h"

namespace nabla::autograd {

void run_backward(const Tensor& root, const Tensor& gradient);

// Runs `callback` once the backward pass in progress on this thread has finished (after its
// last node, nested backward calls included): what a gradient reducer waits on. Called outside
// a backward pass, it is an error.
void queue_callback(std::function<void()> callback);

}  // namespace nabla::autograd
