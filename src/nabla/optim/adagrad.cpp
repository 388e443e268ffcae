#include "nabla/optim/adagrad.h"

#include "nabla/kernels/optimizer_updates.h"

namespace nabla::optim {
namespace {

std::map<std::string, double> adagrad_defaults(const AdagradOptions& o) {
  return {{"lr", o.lr},
          {"weight_decay", o.weight_decay},
          {"lr_decay", o.lr_decay},
          {"initial_accumulator_value", o.initial_accumulator_value},
          {"eps", o.eps}};
}

}  // namespace

Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& options)
    : Adagrad(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options)
    : Optimizer("Adagrad", adagrad_defaults(options)) {
  add_initial_groups(std::move(groups));
}

void Adagrad::check_options(const ParamGroup& group) const {
  check_option(group.lr >= 0, "lr", group.lr, "must be >= 0");
  const double lr_decay = group.option("lr_decay"), initial = group.option("initial_accumulator_value"),
               eps = group.option("eps");
  check_option(lr_decay >= 0, "lr_decay", lr_decay, "must be >= 0");
  check_option(group.weight_decay >= 0, "weight_decay", group.weight_decay, "must be >= 0");
  check_option(initial >= 0, "initial_accumulator_value", initial, "must be >= 0");
  check_option(eps >= 0, "eps", eps, "must be >= 0");
}

void Adagrad::update(const ParamGroup& group, const Tensor& param, const Tensor& grad, ParamState& state) {
  Tensor& sum = buffer(state, param, "sum", group.option("initial_accumulator_value"));
  kernels::AdagradScalars s{};
  s.clr = group.lr / (1 + double(state.step - 1) * group.option("lr_decay"));
  s.weight_decay = group.weight_decay;
  s.eps = group.option("eps");
  kernels::adagrad_update(param.data<float>(), grad.data<float>(), sum.data<float>(), param.numel(), s);
}

}  // namespace nabla::optim
