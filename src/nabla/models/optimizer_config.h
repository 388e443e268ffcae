// The optimizer a run config names (training.optimizer), shared by `nabla train` and `nabla bench`.
#pragma once
#include <memory>

#include "nabla/io/config.h"
#include "nabla/models/registry.h"
#include "nabla/optim/optimizer.h"

namespace nabla::models {

// Reads name (sgd, adam, adamw, rmsprop, adagrad), lr, weight_decay and the optimizer's own keys;
// GPT with AdamW gets nanoGPT's weight-decay groups. Calls finish() on `optimizer`.
std::shared_ptr<optim::Optimizer> build_optimizer(io::ConfigReader optimizer, const BuiltModel& built);

}  // namespace nabla::models
