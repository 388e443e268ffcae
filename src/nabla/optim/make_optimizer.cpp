#include "nabla/optim/make_optimizer.h"

#include <algorithm>

#include "nabla/core/error.h"
#include "nabla/optim/adagrad.h"
#include "nabla/optim/adam.h"
#include "nabla/optim/rmsprop.h"
#include "nabla/optim/sgd.h"

namespace nabla::optim {

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {"sgd", "adam", "adamw", "rmsprop", "adagrad"};
  return names;
}

double default_lr(const std::string& name) { return name == "sgd" ? 0.01 : 1e-3; }

double default_weight_decay(const std::string& name) { return name == "adamw" ? 0.01 : 0.0; }

std::shared_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                          const OptimizerSettings& s) {
  const auto& names = optimizer_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    fail("unknown optimizer \"", name,
         "\"; known optimizers: sgd, adam, adamw, rmsprop, adagrad (or pass an "
         "optim::Optimizer object to compile)");
  const double lr = s.lr >= 0 ? s.lr : default_lr(name);
  const double wd = s.weight_decay >= 0 ? s.weight_decay : default_weight_decay(name);
  const std::pair<double, double> betas = {s.beta1, s.beta2};
  if (name == "sgd")
    return std::make_shared<SGD>(
        std::move(groups), SGDOptions{.lr = lr, .momentum = s.momentum, .weight_decay = wd, .nesterov = s.nesterov});
  if (name == "adam")
    return std::make_shared<Adam>(std::move(groups),
                                  AdamOptions{.lr = lr, .betas = betas, .eps = s.eps, .weight_decay = wd});
  if (name == "adamw")
    return std::make_shared<AdamW>(std::move(groups),
                                   AdamWOptions{.lr = lr, .betas = betas, .eps = s.eps, .weight_decay = wd});
  if (name == "rmsprop")
    return std::make_shared<RMSprop>(
        std::move(groups), RMSpropOptions{.lr = lr, .alpha = s.alpha, .weight_decay = wd, .momentum = s.momentum});
  return std::make_shared<Adagrad>(std::move(groups), AdagradOptions{.lr = lr, .weight_decay = wd});
}

std::shared_ptr<Optimizer> make_optimizer(const std::string& name, const std::vector<Tensor>& params,
                                          const OptimizerSettings& settings) {
  return make_optimizer(name, std::vector<ParamGroup>{ParamGroup(params)}, settings);
}

std::vector<ParamGroup> decay_matrices_only(const std::vector<Tensor>& params, double weight_decay) {
  ParamGroup decay, no_decay;
  decay.weight_decay = weight_decay;
  no_decay.weight_decay = 0.0;
  for (const Tensor& p : params) (p.dim() >= 2 ? decay : no_decay).params.push_back(p);
  return {decay, no_decay};
}

}  // namespace nabla::optim
