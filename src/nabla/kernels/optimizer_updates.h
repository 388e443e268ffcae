// Fused optimizer updates: each reads and writes a parameter, its gradient and its state in one
// pass over contiguous floats, with no temporaries. The arithmetic follows PyTorch's single-tensor
// code op by op (scalars rounded to float where ATen rounds them), so results agree to float noise.
#pragma once
#include <cstdint>

namespace nabla::kernels {

// Scalars are given in double, as PyTorch's Python code holds them; the kernels round them to
// float where ATen does.
struct SgdScalars {
  double lr, weight_decay, momentum, dampening;
  bool nesterov;
  bool first_step;  // the momentum buffer is set to the gradient instead of decayed
};
// momentum_buffer may be null when momentum == 0.
void sgd_update(float* param, const float* grad, float* momentum_buffer, int64_t n, const SgdScalars& s);

struct AdagradScalars {
  double clr;  // lr / (1 + (step - 1) * lr_decay)
  double weight_decay, eps;
};
void adagrad_update(float* param, const float* grad, float* sum, int64_t n, const AdagradScalars& s);

struct RmspropScalars {
  double lr, alpha, eps, weight_decay, momentum;
};
// grad_avg is used (non-null) when centered, momentum_buffer when momentum > 0.
void rmsprop_update(float* param, const float* grad, float* square_avg, float* grad_avg, float* momentum_buffer,
                    int64_t n, const RmspropScalars& s);

struct AdamScalars {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay;  // AdamW: p *= 1 - lr * wd before the update, instead of g += wd * p
  int64_t step;                 // already incremented for this update
};
// max_exp_avg_sq is used (non-null) for AMSGrad.
void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq, int64_t n,
                 const AdamScalars& s);

}  // namespace nabla::kernels
