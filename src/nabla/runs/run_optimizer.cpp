// build_optimizer: training.optimizer of a run config -> an optimizer over the model's parameters.
#include "nabla/runs/run_optimizer.h"

#include "nabla/optim/make_optimizer.h"

namespace nabla::runs {

std::shared_ptr<optim::Optimizer> build_optimizer(io::ConfigReader o, const models::BuiltModel& built) {
  const std::string name = o.string("name", "adam", optim::optimizer_names());
  optim::OptimizerSettings s;
  s.lr = o.number("lr", optim::default_lr(name), 0, 1e300, true);
  s.weight_decay = o.number("weight_decay", optim::default_weight_decay(name), 0);
  if (name == "sgd") {
    s.momentum = o.number("momentum", 0.0, 0, 1);
    s.nesterov = o.boolean("nesterov", false);
  } else if (name == "adam" || name == "adamw") {
    s.beta1 = o.number("beta1", 0.9, 0, 1);
    s.beta2 = o.number("beta2", 0.999, 0, 1);
    s.eps = o.number("eps", 1e-8, 0, 1, true);
  } else if (name == "rmsprop") {
    s.alpha = o.number("alpha", 0.99, 0, 1);
    s.momentum = o.number("momentum", 0.0, 0, 1);
  }
  o.finish();
  std::vector<Tensor> params;  // frozen parameters (training.freeze) are not the optimizer's
  for (const Tensor& p : built.module->parameters())
    if (p.requires_grad()) params.push_back(p);
  if (name == "adamw" && built.decay_matrices_only)
    return optim::make_optimizer(name, optim::decay_matrices_only(params, s.weight_decay), s);
  return optim::make_optimizer(name, params, s);
}

}  // namespace nabla::runs
