// Convolution and pooling over NCHW images.
#pragma once
#include <array>

#include "nabla/core/tensor.h"

namespace nabla {

using Pair = std::array<int64_t, 2>;

struct Conv2dOptions {
  Pair stride{1, 1};
  Pair padding{0, 0};
  Pair dilation{1, 1};
  int64_t groups = 1;
};
// x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dOptions& options = {});

struct Pool2dOptions {
  Pair kernel_size{2, 2};
  Pair stride{0, 0};  // 0 = kernel_size, as in PyTorch
  Pair padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d only
};
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options);
// max_pool2d(relu(x)) in one pass: ReLU commutes with max, so it is applied to the pooled values
// (a quarter of the memory traffic of a separate relu, forward and backward). nn::Sequential uses
// it for a ReLU layer followed by a MaxPool2d layer.
Tensor relu_max_pool2d(const Tensor& x, const Pool2dOptions& options);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options);
Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size);

}  // namespace nabla
