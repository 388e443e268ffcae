// SGD with optional momentum, dampening, Nesterov momentum and L2 weight decay (PyTorch's torch.optim.SGD).
#pragma once
#include "nabla/optim/optimizer.h"

namespace nabla::optim {

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

// Group options: "momentum", "dampening", "nesterov". State: "momentum_buffer" (when momentum != 0).
class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<Tensor> params, const SGDOptions& options = {});
  explicit SGD(std::vector<ParamGroup> groups, const SGDOptions& options = {});

 protected:
  void check_options(const ParamGroup& group) const override;
  void update(const ParamGroup& group, const Tensor& param, const Tensor& grad, ParamState& state) override;
  std::vector<std::string> required_buffers(const ParamGroup& group) const override;
  std::vector<std::string> known_buffers() const override { return {"momentum_buffer"}; }
  bool counts_steps() const override { return false; }
};

}  // namespace nabla::optim
