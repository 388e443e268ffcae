#include "nabla/ops/activation.h"

#include <cmath>

#include "nabla/autograd/node.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/copy.h"
#include "nabla/kernels/elementwise.h"
#include "nabla/kernels/softmax.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/op_utils.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

Tensor packed_f32(const Tensor& x, const char* op) {
  detail::check_f32(x, op);
  return x.is_contiguous() ? x : kernels::contiguous_copy(x);
}

// Applies an element-wise activation; `vector_body` may be null for auto-vectorised ones.
template <typename F, typename V>
Tensor activate(const Tensor& x, const char* op, F scalar_body, V vector_body) {
  Tensor in = packed_f32(x, op);
  Tensor out = Tensor::empty(x.shape());
  kernels::map_unary_vec(in.data<float>(), out.data<float>(), out.numel(), scalar_body, vector_body);
  return out;
}

// Gradient g * f'(saved) computed in one pass over two packed buffers.
template <typename F>
Tensor grad_times(const Tensor& g, const Tensor& saved, F derivative) {
  Tensor gp = g.contiguous(), sp = saved.contiguous();
  Tensor out = Tensor::empty(saved.shape());
  kernels::map_binary(gp.data<float>(), sp.data<float>(), out.data<float>(), out.numel(),
                      [derivative](float gv, float s) { return gv * derivative(s); });
  return out;
}

// The same with a vector body dv(g, s) for derivatives the compiler cannot vectorise.
template <typename F, typename V>
Tensor grad_times_vec(const Tensor& g, const Tensor& saved, F derivative, V dv) {
  Tensor gp = g.contiguous(), sp = saved.contiguous();
  Tensor out = Tensor::empty(saved.shape());
  kernels::map_binary_vec(
      gp.data<float>(), sp.data<float>(), out.data<float>(), out.numel(),
      [derivative](float gv, float s) { return gv * derivative(s); }, dv);
  return out;
}

template <typename F>
void record_unary(const char* op, Tensor& out, const Tensor& x, const Tensor& saved, F derivative) {
  SavedTensor s(saved, op);
  record(op, out, {x},
         [s, derivative](const Tensor& g) { return std::vector<Tensor>{grad_times(g, s.get(), derivative)}; });
}

}  // namespace

Tensor relu(const Tensor& x) {
  NABLA_PROFILE_OP("relu");
  Tensor in = packed_f32(x, "relu");
  Tensor out = Tensor::empty(x.shape());
  // !(v <= 0) keeps NaN, as PyTorch does, so a NaN is seen downstream instead of becoming 0.
  kernels::map_unary(in.data<float>(), out.data<float>(), out.numel(), [](float v) { return !(v <= 0) ? v : 0.0f; });
  if (needs_grad({x})) record_unary("relu", out, x, out, [](float y) { return y > 0 ? 1.0f : 0.0f; });
  return out;
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  NABLA_PROFILE_OP("leaky_relu");
  const float s = float(negative_slope);
  Tensor in = packed_f32(x, "leaky_relu");
  Tensor out = Tensor::empty(x.shape());
  kernels::map_unary(in.data<float>(), out.data<float>(), out.numel(), [s](float v) { return v > 0 ? v : v * s; });
  if (needs_grad({x})) record_unary("leaky_relu", out, x, x, [s](float v) { return v > 0 ? 1.0f : s; });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  NABLA_PROFILE_OP("sigmoid");
  Tensor out = activate(x, "sigmoid", vec::sigmoid_scalar, [](auto v) { return vec::sigmoid(v); });
  if (needs_grad({x})) record_unary("sigmoid", out, x, out, [](float y) { return y * (1 - y); });
  return out;
}

Tensor tanh(const Tensor& x) {
  NABLA_PROFILE_OP("tanh");
  Tensor out = activate(x, "tanh", vec::tanh_scalar, [](auto v) { return vec::tanh(v); });
  if (needs_grad({x})) record_unary("tanh", out, x, out, [](float y) { return 1 - y * y; });
  return out;
}

Tensor silu(const Tensor& x) {
  NABLA_PROFILE_OP("silu");
  Tensor out = activate(
      x, "silu", [](float v) { return v * vec::sigmoid_scalar(v); }, [](auto v) { return v * vec::sigmoid(v); });
  if (needs_grad({x}))
    record_unary("silu", out, x, x, [](float v) {
      float s = vec::sigmoid_scalar(v);
      return s * (1 + v * (1 - s));
    });
  return out;
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  NABLA_PROFILE_OP("gelu");
  constexpr float kInvSqrt2 = 0.70710678118654752f, kSqrt2OverPi = 0.79788456080286536f, kCoeff = 0.044715f;
  if (approximate == "tanh") {
    // 0.5 x (1 + tanh(u)) = x sigmoid(2u): one exp and one division, where tanh costs both of
    // tanh's branches (a polynomial and an exp) and a blend. 2u = 2 sqrt(2/pi) (x + c x^3).
    constexpr float k2 = 2 * kSqrt2OverPi;
    Tensor out = activate(
        x, "gelu", [](float v) { return v / (1 + std::exp(-k2 * (v + kCoeff * v * v * v))); },
        [](auto v) {
          const auto two_u = k2 * vec::fmadd(kCoeff * (v * v), v, v);
          return v / (1.0f + vec::exp(0.0f - two_u));
        });
    if (needs_grad({x})) {
      SavedTensor saved(x, "gelu");
      record("gelu", out, {x}, [saved](const Tensor& g) {
        // With s = sigmoid(2u): d/dx = s (1 + 2 x (1 - s) sqrt(2/pi) (1 + 3 c x^2)).
        return std::vector<Tensor>{grad_times_vec(
            g, saved.get(),
            [](float v) {
              const float s = 1 / (1 + std::exp(-k2 * (v + kCoeff * v * v * v)));
              return s * (1 + k2 * v * (1 - s) * (1 + 3 * kCoeff * v * v));
            },
            [](auto gv, auto v) {
              using Vec = decltype(v);
              const auto v2 = v * v, one = vec::splat<Vec>(1.0f);
              const auto two_u = k2 * vec::fmadd(kCoeff * v2, v, v);
              const auto s = one / (one + vec::exp(0.0f - two_u));
              const auto slope = vec::fmadd(vec::splat<Vec>(3 * kCoeff), v2, one);
              const auto rest = (k2 * v) * ((one - s) * slope);
              return gv * vec::fmadd(s, rest, s);
            })};
      });
    }
    return out;
  }
  NABLA_CHECK(approximate == "none", "gelu: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
  Tensor out = activate(
      x, "gelu", [](float v) { return 0.5f * v * (1 + std::erf(v * kInvSqrt2)); },
      [](auto v) { return (0.5f * v) * (1.0f + vec::erf(v * kInvSqrt2)); });
  if (needs_grad({x})) {
    SavedTensor saved(x, "gelu");
    record("gelu", out, {x}, [saved](const Tensor& g) {
      constexpr float kInvSqrt2Pi = 0.3989422804014327f;
      return std::vector<Tensor>{grad_times_vec(
          g, saved.get(),
          [](float v) { return 0.5f * (1 + std::erf(v * kInvSqrt2)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v); },
          [](auto gv, auto v) {
            // 0.5 (1 + erf(v / sqrt 2)) + v exp(-v^2 / 2) / sqrt(2 pi)
            const auto cdf = 0.5f * (1.0f + vec::erf(v * kInvSqrt2));
            const auto pdf = vec::exp(-0.5f * (v * v));
            return gv * vec::fmadd(v * kInvSqrt2Pi, pdf, cdf);
          })};
    });
  }
  return out;
}

namespace {
Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  NABLA_PROFILE_OP(op);
  Tensor in = packed_f32(x, op);
  if (x.dim() == 0) in = in.reshape({1});
  int d = wrap_dim(dim, in.dim(), op);
  int64_t outer = 1, inner = 1, n = in.shape()[d];
  for (int i = 0; i < d; ++i) outer *= in.shape()[i];
  for (int i = d + 1; i < in.dim(); ++i) inner *= in.shape()[i];
  Tensor out = Tensor::empty(x.shape());
  kernels::softmax_forward(in.data<float>(), out.data<float>(), outer, n, inner, log);
  if (needs_grad({x})) {
    SavedTensor so(out, op);
    record(op, out, {x}, [so, outer, n, inner, log](const Tensor& g) {
      Tensor gp = g.contiguous();
      const Tensor& y = so.get();
      Tensor dx = Tensor::empty(y.shape());
      kernels::softmax_backward(y.data<float>(), gp.data<float>(), dx.data<float>(), outer, n, inner, log);
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace nabla
