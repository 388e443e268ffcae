#include "nabla/nn/activation_checkpointing.h"

#include "nabla/autograd/grad_mode.h"
#include "nabla/autograd/node.h"
#include "nabla/core/random.h"
#include "nabla/ops/autocast.h"

namespace nabla::nn {
namespace {

// Grad mode on for a scope: backward runs under NoGradGuard, the recomputation must record.
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~EnableGradGuard() { GradMode::set_enabled(previous_); }

 private:
  bool previous_;
};

}  // namespace

Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input) {
  if (!GradMode::is_enabled()) return fn(input);  // nothing would be saved anyway
  const Generator::State rng = default_generator().state();
  const DType precision = autocast_dtype();
  Tensor output;
  {
    NoGradGuard no_grad;  // the graph inside fn is not kept: that is the memory saved
    output = fn(input);
  }
  // Parameters inside fn receive their gradients from the recomputed graph, so the recorded
  // node needs an edge only to the input; it is recorded even when only parameters need grads.
  Tensor edge = input.requires_grad() ? input : input.detach().requires_grad_();
  const bool input_needs_grad = input.requires_grad();
  autograd::record("checkpoint", output, {edge},
                   [fn, input = input.detach(), rng, precision, input_needs_grad](const Tensor& grad_output) {
                     Generator& gen = default_generator();
                     const Generator::State now = gen.state();
                     gen.set_state(rng);
                     Tensor replay_input = input.detach().requires_grad_(input_needs_grad);
                     Tensor replay;
                     {
                       EnableGradGuard grad;
                       AutocastGuard autocast(precision);
                       replay = fn(replay_input);
                     }
                     gen.set_state(now);
                     NABLA_CHECK(replay.shape() == grad_output.shape(), "checkpoint: the function gave shape ",
                                 replay.shape(), " when run again in backward but ", grad_output.shape(),
                                 " the first time; it must be deterministic");
                     if (replay.requires_grad()) replay.backward(grad_output);
                     return std::vector<Tensor>{input_needs_grad ? replay_input.grad() : Tensor()};
                   });
  return output;
}

}  // namespace nabla::nn
