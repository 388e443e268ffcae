// Linear (Keras' Dense): y = x W^T + b, weight [out_features, in_features] as in PyTorch.
#pragma once
#include "nabla/nn/module.h"

namespace nabla::nn {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Tensor weight, bias;
  const int64_t in_features, out_features;
};

}  // namespace nabla::nn
