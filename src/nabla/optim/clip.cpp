#include "nabla/optim/clip.h"

#include <algorithm>
#include <cmath>

#include "nabla/autograd/grad_mode.h"
#include "nabla/kernels/reduce.h"

namespace nabla::optim {
namespace {

// The defined gradients, checked to be f32.
std::vector<Tensor> gradients(const std::vector<Tensor>& params, const char* caller) {
  std::vector<Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) {
    NABLA_CHECK(params[i].defined(), caller, ": parameter ", i, " is an undefined tensor");
    Tensor g = params[i].grad();
    if (!g.defined()) continue;
    NABLA_CHECK(g.dtype() == DType::f32, caller, ": the gradient of parameter ", i, " is ", dtype_name(g.dtype()),
                "; only f32 gradients are supported");
    grads.push_back(g);
  }
  return grads;
}

// Runs f(float* data, n) on g's elements in place (through a contiguous copy if g is strided).
template <typename F>
void modify_in_place(Tensor& g, F f) {
  if (g.is_contiguous()) {
    f(g.data<float>(), g.numel());
    g.storage()->bump_version();
    return;
  }
  Tensor copy = g.contiguous();
  f(copy.data<float>(), copy.numel());
  g.copy_(copy);
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  NABLA_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be > 0 (or infinity), got ", norm_type);
  NABLA_CHECK(max_norm >= 0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads = gradients(params, "clip_grad_norm_");
  if (grads.empty()) return 0.0;

  double acc = 0;
  for (const Tensor& g : grads) {
    Tensor c = g.contiguous();
    const double part = kernels::norm_accumulate(c.data<float>(), c.numel(), norm_type);
    acc = std::isinf(norm_type) ? std::max(acc, part) : acc + part;
  }
  const double total_norm = std::isinf(norm_type) ? acc : std::pow(acc, 1.0 / norm_type);
  NABLA_CHECK(!error_if_nonfinite || std::isfinite(total_norm), "clip_grad_norm_: the total ", norm_type,
              "-norm of the gradients is ", total_norm,
              " (non-finite), so they cannot be clipped; check the loss for overflow, or pass "
              "error_if_nonfinite = false to go on");

  // In float, as PyTorch computes max_norm / (total_norm + 1e-6) on a float32 tensor.
  const float coef = float(max_norm) * (1.0f / (float(total_norm) + 1e-6f));
  // PyTorch multiplies by min(coef, 1): skipping a multiply by 1 is the same, and a NaN norm
  // (coef NaN) must still poison the gradients as it does there.
  if (!(coef >= 1.0f)) {
    for (Tensor& g : grads) modify_in_place(g, [coef](float* x, int64_t n) { kernels::scale_in_place(x, n, coef); });
  }
  return total_norm;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  NABLA_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  NoGradGuard no_grad;
  const float hi = float(clip_value), lo = -hi;
  for (Tensor& g : gradients(params, "clip_grad_value_"))
    modify_in_place(g, [lo, hi](float* x, int64_t n) { kernels::clamp_in_place(x, n, lo, hi); });
}

}  // namespace nabla::optim
