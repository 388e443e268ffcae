// build_optimizer: training.optimizer of a run config -> an optimizer over the model's parameters.
#include "nabla/models/optimizer_config.h"

#include "nabla/models/gpt.h"
#include "nabla/optim/optim.h"

namespace nabla::models {

using io::ConfigReader;

std::shared_ptr<optim::Optimizer> build_optimizer(ConfigReader o, const BuiltModel& built) {
  const std::string name = o.string("name", "adam", {"sgd", "adam", "adamw", "rmsprop", "adagrad"});
  const double lr = o.number("lr", name == "sgd" ? 0.01 : 1e-3, 0, 1e300, true);
  const double wd = o.number("weight_decay", name == "adamw" ? 0.01 : 0.0, 0);
  std::vector<optim::ParamGroup> groups;
  auto* gpt = dynamic_cast<GPT*>(built.module.get());
  if (gpt && name == "adamw")
    groups = gpt->weight_decay_groups(wd);  // no decay on biases and LayerNorm gains
  else
    groups.emplace_back(built.module->parameters(), optim::ParamGroup::kDefault, wd);
  std::shared_ptr<optim::Optimizer> result;
  if (name == "sgd") {
    optim::SGDOptions s{.lr = lr, .momentum = o.number("momentum", 0.0, 0, 1), .weight_decay = wd,
                        .nesterov = o.boolean("nesterov", false)};
    result = std::make_shared<optim::SGD>(groups, s);
  } else if (name == "adam" || name == "adamw") {
    const std::pair<double, double> betas = {o.number("beta1", 0.9, 0, 1), o.number("beta2", 0.999, 0, 1)};
    const double eps = o.number("eps", 1e-8, 0, 1, true);
    if (name == "adam")
      result = std::make_shared<optim::Adam>(groups, optim::AdamOptions{.lr = lr, .betas = betas, .eps = eps,
                                                                        .weight_decay = wd});
    else
      result = std::make_shared<optim::AdamW>(groups, optim::AdamWOptions{.lr = lr, .betas = betas, .eps = eps,
                                                                          .weight_decay = wd});
  } else if (name == "rmsprop") {
    result = std::make_shared<optim::RMSprop>(
        groups, optim::RMSpropOptions{.lr = lr, .alpha = o.number("alpha", 0.99, 0, 1), .weight_decay = wd,
                                      .momentum = o.number("momentum", 0.0, 0, 1)});
  } else {
    result = std::make_shared<optim::Adagrad>(groups, optim::AdagradOptions{.lr = lr, .weight_decay = wd});
  }
  o.finish();
  return result;
}

}  // namespace nabla::models
