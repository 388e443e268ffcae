#include "nabla/optim/update_kernels.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "nabla/kernels/parallel.h"

namespace nabla::optim::kernels {
namespace {

// Large tensors are split into fixed chunks (not one slice per thread) so every element takes the
// same code path (vector body or tail) whatever the thread count: results do not depend on it.
constexpr int64_t kChunk = 4096;

template <typename Body>
void for_each_chunk(int64_t n, Body body) {
  if (n <= kParallelGrain) {  // entering the OpenMP runtime costs more than small updates
    body(int64_t(0), n);
    return;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) body(c * kChunk, std::min(n, (c + 1) * kChunk));
}

// Calls f with std::true_type / std::false_type, so flags become compile-time and every loop
// below is branch-free.
template <typename F>
void with_flag(bool flag, F&& f) {
  if (flag) f(std::true_type{});
  else f(std::false_type{});
}

// ATen's lerp: self + w (end - self) for small weights, end - (end - self)(1 - w) otherwise, which
// keeps it exact at both ends.
struct Lerp {
  float weight, one_minus_weight;
  bool small;
  explicit Lerp(double w) : weight(float(w)), one_minus_weight(1.0f - float(w)), small(std::abs(float(w)) < 0.5f) {}
  float operator()(float self, float end) const {
    return small ? self + weight * (end - self) : end - (end - self) * one_minus_weight;
  }
};

}  // namespace

void sgd_update(float* param, const float* grad, float* momentum_buffer, int64_t n, const SgdScalars& s) {
  const float neg_lr = -s.lr, wd = s.weight_decay, momentum = s.momentum, keep = 1.0f - s.dampening;
  auto run = [&](auto decay, auto use_momentum, auto nesterov, auto first) {
    for_each_chunk(n, [&](int64_t begin, int64_t end) {
      float* __restrict p = param;
      const float* __restrict g = grad;
      float* __restrict buf = momentum_buffer;
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        float d = g[i];
        if constexpr (decay) d = d + wd * p[i];
        if constexpr (use_momentum) {
          float b;
          if constexpr (first) b = d;
          else b = buf[i] * momentum + keep * d;
          buf[i] = b;
          if constexpr (nesterov) d = d + momentum * b;
          else d = b;
        }
        p[i] = p[i] + neg_lr * d;
      }
    });
  };
  with_flag(s.weight_decay != 0, [&](auto decay) {
    with_flag(s.momentum != 0, [&](auto use_momentum) {
      if constexpr (use_momentum) {
        with_flag(s.nesterov, [&](auto nesterov) {
          with_flag(s.first_step, [&](auto first) { run(decay, use_momentum, nesterov, first); });
        });
      } else {
        run(decay, use_momentum, std::false_type{}, std::false_type{});
      }
    });
  });
}

void adagrad_update(float* param, const float* grad, float* sum, int64_t n, const AdagradScalars& s) {
  const float neg_clr = float(-s.clr), wd = s.weight_decay, eps = s.eps;
  with_flag(s.weight_decay != 0, [&](auto decay) {
    for_each_chunk(n, [&](int64_t begin, int64_t end) {
      float* __restrict p = param;
      const float* __restrict g = grad;
      float* __restrict acc = sum;
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        float d = g[i];
        if constexpr (decay) d = d + wd * p[i];
        const float a = acc[i] + d * d;
        acc[i] = a;
        const float std_dev = std::sqrt(a) + eps;
        p[i] = p[i] + neg_clr * (d / std_dev);
      }
    });
  });
}

void rmsprop_update(float* param, const float* grad, float* square_avg, float* grad_avg, float* momentum_buffer,
                    int64_t n, const RmspropScalars& s) {
  const float neg_lr = -s.lr, alpha = s.alpha, one_minus_alpha = float(1.0 - double(s.alpha)), eps = s.eps,
              wd = s.weight_decay, momentum = s.momentum;
  const Lerp lerp(1.0 - double(s.alpha));
  auto run = [&](auto decay, auto centered, auto use_momentum) {
    for_each_chunk(n, [&](int64_t begin, int64_t end) {
      float* __restrict p = param;
      const float* __restrict g = grad;
      float* __restrict sq = square_avg;
      float* __restrict ga = grad_avg;
      float* __restrict buf = momentum_buffer;
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        float d = g[i];
        if constexpr (decay) d = d + wd * p[i];
        float v = sq[i] * alpha;
        v = v + one_minus_alpha * d * d;
        sq[i] = v;
        float avg;
        if constexpr (centered) {
          const float m = lerp(ga[i], d);
          ga[i] = m;
          avg = std::sqrt(v + -1.0f * m * m);
        } else {
          avg = std::sqrt(v);
        }
        avg = avg + eps;
        if constexpr (use_momentum) {
          float b = buf[i] * momentum;
          b = b + d / avg;
          buf[i] = b;
          p[i] = p[i] + neg_lr * b;
        } else {
          p[i] = p[i] + neg_lr * (d / avg);
        }
      }
    });
  };
  with_flag(s.weight_decay != 0, [&](auto decay) {
    with_flag(grad_avg != nullptr, [&](auto centered) {
      with_flag(s.momentum > 0, [&](auto use_momentum) { run(decay, centered, use_momentum); });
    });
  });
}

void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq, int64_t n,
                 const AdamScalars& s) {
  // The scalar part in double, as PyTorch computes it in Python.
  const double bias_correction1 = 1 - std::pow(s.beta1, double(s.step));
  const double bias_correction2 = 1 - std::pow(s.beta2, double(s.step));
  const float neg_step_size = float(-(s.lr / bias_correction1));
  const float bias_correction2_sqrt = float(std::sqrt(bias_correction2));
  const float beta2 = float(s.beta2), one_minus_beta2 = float(1 - s.beta2), eps = float(s.eps);
  const float wd = float(s.weight_decay), decay_factor = float(1 - s.lr * s.weight_decay);
  const Lerp lerp(1 - s.beta1);
  auto run = [&](auto coupled_decay, auto decoupled_decay, auto amsgrad) {
    for_each_chunk(n, [&](int64_t begin, int64_t end) {
      float* __restrict p = param;
      const float* __restrict g = grad;
      float* __restrict m1 = exp_avg;
      float* __restrict m2 = exp_avg_sq;
      float* __restrict m2_max = max_exp_avg_sq;
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        float pv = p[i];
        if constexpr (decoupled_decay) pv = pv * decay_factor;
        float d = g[i];
        if constexpr (coupled_decay) d = d + wd * pv;
        const float m = lerp(m1[i], d);
        m1[i] = m;
        float v = m2[i] * beta2;
        v = v + one_minus_beta2 * d * d;
        m2[i] = v;
        if constexpr (amsgrad) {
          v = std::max(m2_max[i], v);
          m2_max[i] = v;
        }
        const float denom = std::sqrt(v) / bias_correction2_sqrt + eps;
        p[i] = pv + neg_step_size * (m / denom);
      }
    });
  };
  const bool decay = s.weight_decay != 0;
  with_flag(decay && !s.decoupled_weight_decay, [&](auto coupled) {
    with_flag(decay && s.decoupled_weight_decay, [&](auto decoupled) {
      with_flag(max_exp_avg_sq != nullptr, [&](auto amsgrad) {
        if constexpr (!(coupled && decoupled)) run(coupled, decoupled, amsgrad);
      });
    });
  });
}

}  // namespace nabla::optim::kernels
