#include "nabla/nn/conv.h"

#include <cmath>

#include "nabla/core/creation.h"

namespace nabla::nn {

Conv2d::Conv2d(int64_t in, int64_t out, Pair kernel, const Conv2dOptions& o)
    : Module("Conv2d"), in_channels(in), out_channels(out), kernel_size(kernel), options(o) {
  NABLA_CHECK(in > 0 && out > 0 && kernel[0] > 0 && kernel[1] > 0, "Conv2d: channels and kernel size must be positive");
  NABLA_CHECK(o.groups > 0 && in % o.groups == 0 && out % o.groups == 0, "Conv2d: groups=", o.groups,
              " must divide in_channels=", in, " and out_channels=", out);
  // PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * kh * kw.
  const double bound = 1.0 / std::sqrt(double(in / o.groups * kernel[0] * kernel[1]));
  weight = register_parameter("weight", uniform({out, in / o.groups, kernel[0], kernel[1]}, -bound, bound));
  if (o.bias) bias = register_parameter("bias", uniform({out}, -bound, bound));
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias,
                nabla::Conv2dOptions{options.stride, options.padding, options.dilation, options.groups});
}

std::string Conv2d::extra_repr() const {
  return std::to_string(in_channels) + ", " + std::to_string(out_channels) + ", kernel_size=(" +
         std::to_string(kernel_size[0]) + ", " + std::to_string(kernel_size[1]) + ")";
}

MaxPool2d::MaxPool2d(Pair kernel_size, Pair stride, Pair padding, bool ceil_mode)
    : Module("MaxPool2d"), options{kernel_size, stride, padding, ceil_mode, true} {}

AvgPool2d::AvgPool2d(Pair kernel_size, Pair stride, Pair padding, bool ceil_mode, bool count_include_pad)
    : Module("AvgPool2d"), options{kernel_size, stride, padding, ceil_mode, count_include_pad} {}

}  // namespace nabla::nn
