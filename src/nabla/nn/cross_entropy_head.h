// A module whose output is a linear layer's class scores (a language model's vocabulary head) can
// give the cross-entropy of those scores without forming them all at once
// (linear_cross_entropy). train::Model takes this path when the loss is
// sparse_categorical_crossentropy and no metric needs the scores themselves.
#pragma once
#include "nabla/core/tensor.h"

namespace nabla::nn {

class CrossEntropyHead {
 public:
  virtual ~CrossEntropyHead() = default;
  // The mean cross-entropy of forward(x) against class indices y (ignore_index -100), with the
  // gradients forward(x) would give; `predicted`, when given, receives the highest-scoring class
  // at each of y's positions.
  virtual Tensor forward_cross_entropy(const Tensor& x, const Tensor& y, Tensor* predicted) = 0;
};

}  // namespace nabla::nn
