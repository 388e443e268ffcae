// The one optimizer-by-name factory: Model::compile("adam", ...) and the run configs'
// training.optimizer both build their optimizers here.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nabla/optim/optimizer.h"

namespace nabla::optim {

// Hyper-parameters by their config names; each optimizer reads the ones it has.
struct OptimizerSettings {
  double lr = -1;                                 // < 0: Keras' default for the optimizer (sgd 0.01, the others 0.001)
  double weight_decay = -1;                       // < 0: the optimizer's default (adamw 0.01, the others 0)
  double momentum = 0;                            // sgd, rmsprop
  bool nesterov = false;                          // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
  double alpha = 0.99;                            // rmsprop
};

// "sgd", "adam", "adamw", "rmsprop", "adagrad".
const std::vector<std::string>& optimizer_names();
double default_lr(const std::string& name);
double default_weight_decay(const std::string& name);

// Groups keep their own lr / weight decay where set (not ParamGroup::kDefault); the rest take
// `settings`. An unknown name is an error listing the known ones.
std::shared_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                          const OptimizerSettings& settings = {});
std::shared_ptr<Optimizer> make_optimizer(const std::string& name, const std::vector<Tensor>& params,
                                          const OptimizerSettings& settings = {});

// nanoGPT's weight-decay groups: matrices (dim >= 2) decay by weight_decay, biases and norm gains
// (vectors) not at all.
std::vector<ParamGroup> decay_matrices_only(const std::vector<Tensor>& params, double weight_decay);

}  // namespace nabla::optim
