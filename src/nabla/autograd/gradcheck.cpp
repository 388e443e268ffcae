#include "nabla/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"

namespace nabla {
namespace {

// The projected loss in double, so the finite difference is not drowned by f32 summation.
double projected(const Tensor& out, const std::vector<float>& weights) {
  std::vector<float> values = out.to_vector<float>();
  double total = 0;
  for (size_t i = 0; i < values.size(); ++i) total += double(values[i]) * double(weights[i]);
  return total;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  GradcheckResult result;
  std::vector<Tensor> leaves;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor leaf = inputs[i].defined() ? inputs[i].detach().clone() : Tensor();
    bool check = leaf.defined() && leaf.dtype() == DType::f32 &&
                 (options.check_input.empty() || (i < options.check_input.size() && options.check_input[i]));
    if (check) leaf.requires_grad_();
    leaves.push_back(leaf);
  }
  Tensor out = f(leaves);
  Generator gen(1234);
  Tensor w = randn(out.shape(), gen);
  std::vector<float> weights = w.to_vector<float>();
  out.backward(w);  // the gradient of sum(out * w)

  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!leaves[i].defined() || !leaves[i].requires_grad()) continue;
    Tensor analytic = leaves[i].grad();
    std::vector<float> grad =
        analytic.defined() ? analytic.to_vector<float>() : std::vector<float>(leaves[i].numel(), 0.0f);
    std::vector<Tensor> probe;
    for (const Tensor& l : leaves) probe.push_back(l.defined() ? l.detach().clone() : Tensor());
    float* x = probe[i].data<float>();
    NoGradGuard no_grad;
    for (int64_t e = 0; e < probe[i].numel(); ++e) {
      const float original = x[e];
      x[e] = original + float(options.eps);
      const double up = projected(f(probe), weights);
      x[e] = original - float(options.eps);
      const double down = projected(f(probe), weights);
      x[e] = original;
      // Divide by the step actually taken in f32, not the nominal eps.
      const double step = double(original + float(options.eps)) - double(original - float(options.eps));
      const double numeric = (up - down) / step;
      const double error = std::fabs(numeric - grad[e]);
      result.max_abs_error = std::max(result.max_abs_error, error);
      if (result.ok && error > options.atol + options.rtol * std::fabs(numeric)) {
        result.ok = false;
        std::ostringstream msg;
        msg << "input " << i << " element " << e << ": analytic " << grad[e] << " vs numeric " << numeric;
        result.message = msg.str();
      }
    }
  }
  return result;
}

}  // namespace nabla
