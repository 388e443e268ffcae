#include "nabla/optim/adam.h"

#include "nabla/kernels/optimizer_updates.h"

namespace nabla::optim {
namespace {

std::map<std::string, double> adam_defaults(const AdamOptions& o) {
  return {{"lr", o.lr},   {"weight_decay", o.weight_decay},  {"beta1", o.betas.first}, {"beta2", o.betas.second},
          {"eps", o.eps}, {"amsgrad", o.amsgrad ? 1.0 : 0.0}};
}

AdamOptions as_adam(const AdamWOptions& o) { return {o.lr, o.betas, o.eps, o.weight_decay, o.amsgrad}; }

}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam("Adam", std::move(groups), options, false) {}

Adam::Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled_weight_decay)
    : Optimizer(std::move(name), adam_defaults(options)), decoupled_weight_decay_(decoupled_weight_decay) {
  add_initial_groups(std::move(groups));
}

void Adam::check_options(const ParamGroup& group) const {
  check_option(group.lr >= 0, "lr", group.lr, "must be >= 0");
  const double beta1 = group.option("beta1"), beta2 = group.option("beta2"), eps = group.option("eps"),
               amsgrad = group.option("amsgrad");
  check_option(eps >= 0, "eps", eps, "must be >= 0");
  check_option(beta1 >= 0 && beta1 < 1, "beta1 (betas.first)", beta1, "must be in [0, 1)");
  check_option(beta2 >= 0 && beta2 < 1, "beta2 (betas.second)", beta2, "must be in [0, 1)");
  check_option(group.weight_decay >= 0, "weight_decay", group.weight_decay, "must be >= 0");
  check_option(amsgrad == 0 || amsgrad == 1, "amsgrad", amsgrad, "must be 0 (false) or 1 (true)");
}

std::vector<std::string> Adam::required_buffers(const ParamGroup& group) const {
  if (group.option("amsgrad") != 0) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

void Adam::update(const ParamGroup& group, const Tensor& param, const Tensor& grad, ParamState& state) {
  kernels::AdamScalars s{};
  s.lr = group.lr;
  s.beta1 = group.option("beta1");
  s.beta2 = group.option("beta2");
  s.eps = group.option("eps");
  s.weight_decay = group.weight_decay;
  s.decoupled_weight_decay = decoupled_weight_decay_;
  s.step = state.step;
  float* exp_avg = buffer(state, param, "exp_avg").data<float>();
  float* exp_avg_sq = buffer(state, param, "exp_avg_sq").data<float>();
  float* max_exp_avg_sq = group.option("amsgrad") != 0 ? buffer(state, param, "max_exp_avg_sq").data<float>() : nullptr;
  kernels::adam_update(param.data<float>(), grad.data<float>(), exp_avg, exp_avg_sq, max_exp_avg_sq, param.numel(), s);
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : AdamW(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options)
    : Adam("AdamW", std::move(groups), as_adam(options), true) {}

}  // namespace nabla::optim
