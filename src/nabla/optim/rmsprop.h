// RMSprop: gradients scaled by a running RMS, optionally centered and with momentum (torch.optim.RMSprop).
#pragma once
#include "nabla/optim/optimizer.h"

namespace nabla::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
};

// Group options: "alpha", "eps", "momentum", "centered". State: "square_avg", "momentum_buffer"
// (momentum > 0), "grad_avg" (centered), step.
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(std::vector<Tensor> params, const RMSpropOptions& options = {});
  explicit RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& options = {});

 protected:
  void check_options(const ParamGroup& group) const override;
  void update(const ParamGroup& group, const Tensor& param, const Tensor& grad, ParamState& state) override;
  std::vector<std::string> required_buffers(const ParamGroup& group) const override;
  std::vector<std::string> known_buffers() const override { return {"square_avg", "momentum_buffer", "grad_avg"}; }
};

}  // namespace nabla::optim
