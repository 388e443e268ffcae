#include "nabla/train/fit_steps.h"

#include <cmath>
#include <cstdio>

#include "nabla/core/error.h"
#include "nabla/dist/process_group.h"
#include "nabla/kernels/reduce.h"

namespace nabla::train {

bool ends_accumulation(int64_t step, int64_t accumulation, int64_t steps) {
  return (step + 1) % accumulation == 0 || step + 1 == steps;
}

std::string first_nonfinite_gradient(const nn::Module& module) {
  for (const auto& [name, p] : module.named_parameters()) {
    const Tensor g = p.grad();
    if (!g.defined() || g.dtype() != DType::f32) continue;
    const Tensor c = g.contiguous();
    if (!kernels::all_finite(c.data<float>(), c.numel())) return name;
  }
  return "";
}

NonFiniteGuard::NonFiniteGuard(bool skip, bool quiet_stop_on_loss)
    : skip_(skip), quiet_stop_on_loss_(quiet_stop_on_loss) {}

std::string NonFiniteGuard::loss_problem(double loss_value, const StepPosition& at) const {
  const std::string problem = std::string("the loss became ") +
                              (std::isfinite(loss_value) ? "non-finite on another rank" : std::to_string(loss_value));
  if (!skip_ && !quiet_stop_on_loss_)
    fail(dist::rank_prefix(), "fit: ", problem, " at epoch ", at.epoch + 1, ", batch ", at.step + 1, " of ", at.steps,
         "; the weights were not updated with it. Lower the learning rate, check the inputs for NaN/Inf, clip "
         "gradients (clip_grad_norm), set on_nonfinite to skip such steps, or add TerminateOnNaN to stop quietly");
  return problem;
}

std::string NonFiniteGuard::gradient_problem(const std::string& parameter, double loss_value,
                                             const StepPosition& at) const {
  const std::string problem =
      "the gradient of " + parameter + " became NaN/Inf (the loss, " + std::to_string(loss_value) + ", was finite)";
  if (!skip_)
    fail(dist::rank_prefix(), "fit: ", problem, " at epoch ", at.epoch + 1, ", batch ", at.step + 1, " of ", at.steps,
         "; the weights were not updated with it. Lower the learning rate, clip gradients (clip_grad_norm), "
         "or set on_nonfinite to skip such steps");
  return problem;
}

void NonFiniteGuard::after_step(const std::string& problem, const StepPosition& at) {
  if (problem.empty()) {
    skipped_in_a_row_ = 0;
    return;
  }
  if (!skip_) return;  // a bad loss left for TerminateOnNaN
  if (dist::rank() == 0)
    std::fprintf(stderr, "fit: skipped the step at epoch %d, batch %lld: %s\n", at.epoch + 1,
                 static_cast<long long>(at.step + 1), problem.c_str());
  NABLA_CHECK(++skipped_in_a_row_ < kMaxSkippedInARow, dist::rank_prefix(), "fit: ", kMaxSkippedInARow,
              " steps in a row had a non-finite loss or gradient (the last at epoch ", at.epoch + 1, ", batch ",
              at.step + 1, ": ", problem, "); stopping. Lower the learning rate or check the data");
}

}  // namespace nabla::train
