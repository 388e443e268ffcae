#include "nabla/kernels/optimizer_updates.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "nabla/kernels/parallel.h"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace nabla::kernels {
namespace {

// Each update is written once, as a function of the element type V, and runs as 8-lane vectors
// (GCC vector extensions) with a scalar tail. Not `#pragma omp simd` over plain loops: with errno
// semantics on (the build's default), GCC keeps every loop containing std::sqrt scalar.
using f32x8 = float __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;

template <typename V>
V load(const float* p) {
  if constexpr (sizeof(V) == sizeof(float)) {
    return *p;
  } else {
    V v;
    std::memcpy(&v, p, sizeof(V));  // unaligned load
    return v;
  }
}

template <typename V>
void store(float* p, V v) {
  if constexpr (sizeof(V) == sizeof(float))
    *p = v;
  else
    std::memcpy(p, &v, sizeof(V));
}

inline float vsqrt(float x) { return std::sqrt(x); }
inline f32x8 vsqrt(f32x8 x) {
#if defined(__AVX__)
  return _mm256_sqrt_ps(x);
#else
  for (int i = 0; i < kLanes; ++i) x[i] = std::sqrt(x[i]);
  return x;
#endif
}

// max(a, b) as torch.maximum for the values seen here (both non-negative).
inline float vmax(float a, float b) { return a > b ? a : b; }
inline f32x8 vmax(f32x8 a, f32x8 b) {
#if defined(__AVX__)
  return _mm256_max_ps(a, b);
#else
  for (int i = 0; i < kLanes; ++i) a[i] = a[i] > b[i] ? a[i] : b[i];
  return a;
#endif
}

// Large tensors are split into fixed chunks (a multiple of the lane count, not one slice per
// thread), so every element takes the same path (vector body or tail) whatever the thread count
// or tensor size: results are identical on 1 or N threads.
constexpr int64_t kChunk = 4096;

// Calls body(V{}, i) for the 8-lane vector at i or the single float at i, over [0, n). Bodies
// capture by value and each range works on its own copy: otherwise the scalars live in memory that
// the float stores might alias, and are reloaded after every store.
template <typename Body>
void for_each_element(int64_t n, const Body& body) {
  auto run = [&body](int64_t begin, int64_t end) {
    const Body local = body;
    int64_t i = begin;
    for (; i + kLanes <= end; i += kLanes) local(f32x8{}, i);
    for (; i < end; ++i) local(float{}, i);
  };
  if (n <= kParallelGrain) {  // entering the OpenMP runtime costs more than small updates
    run(0, n);
    return;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) run(c * kChunk, std::min(n, (c + 1) * kChunk));
}

// Calls f with std::true_type or std::false_type, so option flags are compile-time constants and
// the per-element code carries no branches.
template <typename F>
void with_flag(bool flag, F&& f) {
  if (flag)
    f(std::true_type{});
  else
    f(std::false_type{});
}

// ATen's lerp: self + w (end - self) for small weights, end - (end - self)(1 - w) otherwise, which
// keeps it exact at both ends.
struct Lerp {
  float weight, one_minus_weight;
  bool small;
  explicit Lerp(double w) : weight(float(w)), one_minus_weight(1.0f - float(w)), small(std::abs(float(w)) < 0.5f) {}
  template <typename V>
  V operator()(V self, V end) const {
    return small ? self + weight * (end - self) : end - (end - self) * one_minus_weight;
  }
};

}  // namespace

void sgd_update(float* param, const float* grad, float* momentum_buffer, int64_t n, const SgdScalars& s) {
  const float neg_lr = float(-s.lr), wd = float(s.weight_decay), momentum = float(s.momentum),
              keep = float(1 - s.dampening);
  auto run = [&](auto decay, auto use_momentum, auto nesterov, auto first) {
    for_each_element(n, [=](auto zero, int64_t i) {
      using V = decltype(zero);
      const V p = load<V>(param + i);
      V d = load<V>(grad + i);
      if constexpr (decay) d = d + wd * p;
      if constexpr (use_momentum) {
        V b;
        if constexpr (first)
          b = d;  // PyTorch starts the buffer at the gradient, undamped
        else
          b = load<V>(momentum_buffer + i) * momentum + keep * d;
        store(momentum_buffer + i, b);
        if constexpr (nesterov)
          d = d + momentum * b;
        else
          d = b;
      }
      store(param + i, p + neg_lr * d);
    });
  };
  with_flag(s.weight_decay != 0, [&](auto decay) {
    if (s.momentum == 0) return run(decay, std::false_type{}, std::false_type{}, std::false_type{});
    with_flag(s.nesterov, [&](auto nesterov) {
      with_flag(s.first_step, [&](auto first) { run(decay, std::true_type{}, nesterov, first); });
    });
  });
}

void adagrad_update(float* param, const float* grad, float* sum, int64_t n, const AdagradScalars& s) {
  const float neg_clr = float(-s.clr), wd = float(s.weight_decay), eps = float(s.eps);
  with_flag(s.weight_decay != 0, [&](auto decay) {
    for_each_element(n, [=](auto zero, int64_t i) {
      using V = decltype(zero);
      const V p = load<V>(param + i);
      V d = load<V>(grad + i);
      if constexpr (decay) d = d + wd * p;
      const V acc = load<V>(sum + i) + d * d;  // state_sum.addcmul_(grad, grad, value=1)
      store(sum + i, acc);
      const V std_dev = vsqrt(acc) + eps;
      store(param + i, p + neg_clr * (d / std_dev));  // param.addcdiv_(grad, std, value=-clr)
    });
  });
}

void rmsprop_update(float* param, const float* grad, float* square_avg, float* grad_avg, float* momentum_buffer,
                    int64_t n, const RmspropScalars& s) {
  const float neg_lr = float(-s.lr), alpha = float(s.alpha), one_minus_alpha = float(1 - s.alpha), eps = float(s.eps),
              wd = float(s.weight_decay), momentum = float(s.momentum);
  const Lerp lerp(1 - s.alpha);
  auto run = [&](auto decay, auto centered, auto use_momentum) {
    for_each_element(n, [=](auto zero, int64_t i) {
      using V = decltype(zero);
      const V p = load<V>(param + i);
      V d = load<V>(grad + i);
      if constexpr (decay) d = d + wd * p;
      V v = load<V>(square_avg + i) * alpha;  // square_avg.mul_(alpha).addcmul_(g, g, value=1-alpha)
      v = v + one_minus_alpha * d * d;
      store(square_avg + i, v);
      V avg;
      if constexpr (centered) {
        const V m = lerp(load<V>(grad_avg + i), d);
        store(grad_avg + i, m);
        avg = vsqrt(v + -1.0f * m * m);  // square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
      } else {
        avg = vsqrt(v);
      }
      avg = avg + eps;
      if constexpr (use_momentum) {
        const V b = load<V>(momentum_buffer + i) * momentum + d / avg;  // buf.mul_(momentum).addcdiv_(g, avg)
        store(momentum_buffer + i, b);
        store(param + i, p + neg_lr * b);
      } else {
        store(param + i, p + neg_lr * (d / avg));
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
    for_each_element(n, [=](auto zero, int64_t i) {
      using V = decltype(zero);
      V p = load<V>(param + i);
      if constexpr (decoupled_decay) p = p * decay_factor;  // AdamW: param.mul_(1 - lr * weight_decay)
      V d = load<V>(grad + i);
      if constexpr (coupled_decay) d = d + wd * p;
      const V m = lerp(load<V>(exp_avg + i), d);  // exp_avg.lerp_(grad, 1 - beta1)
      store(exp_avg + i, m);
      V v = load<V>(exp_avg_sq + i) * beta2;  // exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1-beta2)
      v = v + one_minus_beta2 * d * d;
      store(exp_avg_sq + i, v);
      if constexpr (amsgrad) {
        v = vmax(load<V>(max_exp_avg_sq + i), v);
        store(max_exp_avg_sq + i, v);
      }
      const V denom = vsqrt(v) / bias_correction2_sqrt + eps;
      store(param + i, p + neg_step_size * (m / denom));  // param.addcdiv_(exp_avg, denom, value=-step_size)
    });
  };
  const bool decay = s.weight_decay != 0;
  with_flag(max_exp_avg_sq != nullptr, [&](auto amsgrad) {
    if (!decay)
      run(std::false_type{}, std::false_type{}, amsgrad);
    else if (s.decoupled_weight_decay)
      run(std::false_type{}, std::true_type{}, amsgrad);
    else
      run(std::true_type{}, std::false_type{}, amsgrad);
  });
}

}  // namespace nabla::kernels
