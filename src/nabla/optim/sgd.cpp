#include "nabla/optim/sgd.h"

#include <cmath>

#include "nabla/kernels/optimizer_updates.h"

namespace nabla::optim {
namespace {

std::map<std::string, double> sgd_defaults(const SGDOptions& o) {
  return {{"lr", o.lr},
          {"weight_decay", o.weight_decay},
          {"momentum", o.momentum},
          {"dampening", o.dampening},
          {"nesterov", o.nesterov ? 1.0 : 0.0}};
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : SGD(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& options) : Optimizer("SGD", sgd_defaults(options)) {
  add_initial_groups(std::move(groups));
}

void SGD::check_options(const ParamGroup& group) const {
  check_option(group.lr >= 0, "lr", group.lr, "must be >= 0");
  const double momentum = group.option("momentum"), dampening = group.option("dampening");
  check_option(momentum >= 0, "momentum", momentum, "must be >= 0");
  check_option(group.weight_decay >= 0, "weight_decay", group.weight_decay, "must be >= 0");
  check_option(std::isfinite(dampening), "dampening", dampening, "must be finite");
  const double nesterov = group.option("nesterov");
  check_option(nesterov == 0 || nesterov == 1, "nesterov", nesterov, "must be 0 (false) or 1 (true)");
  check_option(nesterov == 0 || (momentum > 0 && dampening == 0), "nesterov", nesterov,
               "Nesterov momentum needs momentum > 0 and dampening == 0");
}

std::vector<std::string> SGD::required_buffers(const ParamGroup& group) const {
  if (group.option("momentum") != 0) return {"momentum_buffer"};
  return {};
}

void SGD::update(const ParamGroup& group, const Tensor& param, const Tensor& grad, ParamState& state) {
  kernels::SgdScalars s{};
  s.lr = group.lr;
  s.weight_decay = group.weight_decay;
  s.momentum = group.option("momentum");
  s.dampening = group.option("dampening");
  s.nesterov = group.option("nesterov") != 0;
  float* buffer = nullptr;
  if (s.momentum != 0) {
    // PyTorch starts the buffer at the first gradient (not at zero, and without dampening).
    s.first_step = !state.buffers.count("momentum_buffer");
    if (s.first_step) state.buffers["momentum_buffer"] = Tensor::empty(param.shape());
    buffer = state.buffers["momentum_buffer"].data<float>();
  }
  kernels::sgd_update(param.data<float>(), grad.data<float>(), buffer, param.numel(), s);
}

}  // namespace nabla::optim
