// Adagrad: per-element learning rates from the running sum of squared gradients (torch.optim.Adagrad).
#pragma once
#include "nabla/optim/optimizer.h"

namespace nabla::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
};

// Group options: "lr_decay", "initial_accumulator_value", "eps". State: "sum", step.
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(std::vector<Tensor> params, const AdagradOptions& options = {});
  explicit Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options = {});

 protected:
  void check_options(const ParamGroup& group) const override;
  void update(const ParamGroup& group, const Tensor& param, const Tensor& grad, ParamState& state) override;
  std::vector<std::string> required_buffers(const ParamGroup&) const override { return {"sum"}; }
  std::vector<std::string> known_buffers() const override { return {"sum"}; }
};

}  // namespace nabla::optim
