// Gradient checking by central finite differences: compares autograd's gradient of
// sum(f(inputs) * w) (w random, fixed) with (L(x + eps) - L(x - eps)) / 2eps per element.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla {

struct GradcheckOptions {
  double eps = 1e-3;
  double rtol = 1e-2;
  double atol = 1e-3;
  std::vector<bool> check_input = {};  // empty = every f32 input
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first mismatch: input, element, analytic vs numeric
  double max_abs_error = 0;
};

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace nabla
