// Adam and AdamW (torch.optim.Adam / AdamW): bias-corrected first and second moment estimates,
// optionally AMSGrad; Adam adds weight decay to the gradient (L2), AdamW decays the weights directly.
#pragma once
#include <utility>

#include "nabla/optim/optimizer.h"

namespace nabla::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};

struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

// Group options: "beta1", "beta2", "eps", "amsgrad". State: "exp_avg", "exp_avg_sq",
// "max_exp_avg_sq" (amsgrad), step.
class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Tensor> params, const AdamOptions& options = {});
  explicit Adam(std::vector<ParamGroup> groups, const AdamOptions& options = {});

 protected:
  Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled_weight_decay);
  void check_options(const ParamGroup& group) const override;
  void update(const ParamGroup& group, const Tensor& param, const Tensor& grad, ParamState& state) override;
  std::vector<std::string> required_buffers(const ParamGroup& group) const override;
  std::vector<std::string> known_buffers() const override { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

 private:
  bool decoupled_weight_decay_;
};

class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Tensor> params, const AdamWOptions& options = {});
  explicit AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options = {});
};

}  // namespace nabla::optim
