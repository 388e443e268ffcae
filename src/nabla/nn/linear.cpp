#include "nabla/nn/linear.h"

#include <cmath>

#include "nabla/core/creation.h"
#include "nabla/nn/init.h"
#include "nabla/ops/linalg.h"

namespace nabla::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias) : Module("Linear"), in_features(in), out_features(out) {
  NABLA_CHECK(in > 0 && out > 0, "Linear: feature counts must be positive, got in=", in, " out=", out);
  // PyTorch's reset_parameters: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), same for bias.
  const double bound = 1.0 / std::sqrt(double(in));
  weight = register_parameter("weight", uniform({out, in}, -bound, bound));
  if (with_bias) bias = register_parameter("bias", uniform({out}, -bound, bound));
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + (bias.defined() ? "true" : "false");
}

}  // namespace nabla::nn
