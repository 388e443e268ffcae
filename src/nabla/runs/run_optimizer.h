// The optimizer a run config names (training.optimizer), shared by `nabla train` and `nabla bench`.
#pragma once
#include <memory>

#include "nabla/io/config.h"
#include "nabla/models/registry.h"
#include "nabla/optim/optimizer.h"

namespace nabla::runs {

// Reads name (sgd, adam, adamw, rmsprop, adagrad), lr, weight_decay and the optimizer's own keys
// into optim::make_optimizer. A model built with decay_matrices_only gets, under AdamW, no decay
// on its biases and norm gains (nanoGPT's groups). Frozen parameters (requires_grad off) are left
// out. Calls finish() on `optimizer`.
std::shared_ptr<optim::Optimizer> build_optimizer(io::ConfigReader optimizer, const models::BuiltModel& built);

}  // namespace nabla::runs
