#include "nabla/optim/rmsprop.h"

#include "nabla/kernels/optimizer_updates.h"

namespace nabla::optim {
namespace {

std::map<std::string, double> rmsprop_defaults(const RMSpropOptions& o) {
  return {{"lr", o.lr},   {"weight_decay", o.weight_decay}, {"alpha", o.alpha},
          {"eps", o.eps}, {"momentum", o.momentum},         {"centered", o.centered ? 1.0 : 0.0}};
}

}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& options)
    : RMSprop(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& options)
    : Optimizer("RMSprop", rmsprop_defaults(options)) {
  add_initial_groups(std::move(groups));
}

void RMSprop::check_options(const ParamGroup& group) const {
  check_option(group.lr >= 0, "lr", group.lr, "must be >= 0");
  const double alpha = group.option("alpha"), eps = group.option("eps"), momentum = group.option("momentum"),
               centered = group.option("centered");
  check_option(eps >= 0, "eps", eps, "must be >= 0");
  check_option(momentum >= 0, "momentum", momentum, "must be >= 0");
  check_option(group.weight_decay >= 0, "weight_decay", group.weight_decay, "must be >= 0");
  check_option(alpha >= 0, "alpha", alpha, "must be >= 0");
  check_option(centered == 0 || centered == 1, "centered", centered, "must be 0 (false) or 1 (true)");
}

std::vector<std::string> RMSprop::required_buffers(const ParamGroup& group) const {
  std::vector<std::string> names = {"square_avg"};
  if (group.option("momentum") > 0) names.push_back("momentum_buffer");
  if (group.option("centered") != 0) names.push_back("grad_avg");
  return names;
}

void RMSprop::update(const ParamGroup& group, const Tensor& param, const Tensor& grad, ParamState& state) {
  kernels::RmspropScalars s{};
  s.lr = group.lr;
  s.alpha = group.option("alpha");
  s.eps = group.option("eps");
  s.weight_decay = group.weight_decay;
  s.momentum = group.option("momentum");
  float* square_avg = buffer(state, param, "square_avg").data<float>();
  float* grad_avg = group.option("centered") != 0 ? buffer(state, param, "grad_avg").data<float>() : nullptr;
  float* momentum_buffer = s.momentum > 0 ? buffer(state, param, "momentum_buffer").data<float>() : nullptr;
  kernels::rmsprop_update(param.data<float>(), grad.data<float>(), square_avg, grad_avg, momentum_buffer, param.numel(),
                          s);
}

}  // namespace nabla::optim
