// Activation checkpointing (torch.utils.checkpoint): run a function without keeping its
// intermediate activations, and run it again during backward to get them. Trades one extra
// forward of `fn` for the memory of everything it would have saved.
#pragma once
#include <functional>

#include "nabla/core/tensor.h"

namespace nabla::nn {

// fn(input) with its activations recomputed in backward. Parameters fn uses get their gradients
// as usual. The recomputation replays the default generator (dropout draws the same masks) and
// the autocast precision of the first run, so gradients equal those of fn(input) exactly.
Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input);

}  // namespace nabla::nn
