#include "nabla/ops/activation.h"

#include <cmath>

#include "nabla/autograd/node.h"
#include "nabla/core/views.h"
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
  return x.is_contiguous() ? x : views::contiguous_copy(x);
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

template <typename F>
void record_unary(const char* op, Tensor& out, const Tensor& x, const Tensor& saved, F derivative) {
  SavedTensor s(saved, op);
  record(op, out, {x}, [s, derivative](const Tensor& g) { return std::vector<Tensor>{grad_times(g, s.get(), derivative)}; });
}

#ifdef NABLA_AVX2
using V = __m256;
#endif

}  // namespace

Tensor relu(const Tensor& x) {
  Tensor in = packed_f32(x, "relu");
  Tensor out = Tensor::empty(x.shape());
  // !(v <= 0) keeps NaN, as PyTorch does, so a NaN is seen downstream instead of becoming 0.
  kernels::map_unary(in.data<float>(), out.data<float>(), out.numel(), [](float v) { return !(v <= 0) ? v : 0.0f; });
  if (needs_grad({x})) record_unary("relu", out, x, out, [](float y) { return y > 0 ? 1.0f : 0.0f; });
  return out;
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  const float s = float(negative_slope);
  Tensor in = packed_f32(x, "leaky_relu");
  Tensor out = Tensor::empty(x.shape());
  kernels::map_unary(in.data<float>(), out.data<float>(), out.numel(), [s](float v) { return v > 0 ? v : v * s; });
  if (needs_grad({x})) record_unary("leaky_relu", out, x, x, [s](float v) { return v > 0 ? 1.0f : s; });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = activate(x, "sigmoid", vec::sigmoid_scalar, [](auto v) { return vec::sigmoid(v); });
  if (needs_grad({x})) record_unary("sigmoid", out, x, out, [](float y) { return y * (1 - y); });
  return out;
}

Tensor tanh(const Tensor& x) {
  Tensor out = activate(x, "tanh", vec::tanh_scalar, [](auto v) { return vec::tanh(v); });
  if (needs_grad({x})) record_unary("tanh", out, x, out, [](float y) { return 1 - y * y; });
  return out;
}

Tensor silu(const Tensor& x) {
  Tensor out = activate(x, "silu", [](float v) { return v * vec::sigmoid_scalar(v); },
                        [](auto v) { return _mm256_mul_ps(v, vec::sigmoid(v)); });
  if (needs_grad({x}))
    record_unary("silu", out, x, x, [](float v) {
      float s = vec::sigmoid_scalar(v);
      return s * (1 + v * (1 - s));
    });
  return out;
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  constexpr float kInvSqrt2 = 0.70710678118654752f, kSqrt2OverPi = 0.79788456080286536f, kCoeff = 0.044715f;
  if (approximate == "tanh") {
    Tensor out = activate(
        x, "gelu",
        [](float v) { return 0.5f * v * (1 + std::tanh(kSqrt2OverPi * (v + kCoeff * v * v * v))); },
        [](auto v) {
          auto inner = _mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi),
                                     _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(kCoeff), _mm256_mul_ps(v, v)), v, v));
          return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v),
                               _mm256_add_ps(_mm256_set1_ps(1.0f), vec::tanh(inner)));
        });
    if (needs_grad({x}))
      record_unary("gelu", out, x, x, [](float v) {
        float inner = kSqrt2OverPi * (v + kCoeff * v * v * v);
        float t = std::tanh(inner);
        return 0.5f * (1 + t) + 0.5f * v * (1 - t * t) * kSqrt2OverPi * (1 + 3 * kCoeff * v * v);
      });
    return out;
  }
  NABLA_CHECK(approximate == "none", "gelu: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
  Tensor out = activate(
      x, "gelu", [](float v) { return 0.5f * v * (1 + std::erf(v * kInvSqrt2)); },
      [](auto v) {
        return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v),
                             _mm256_add_ps(_mm256_set1_ps(1.0f), vec::erf(_mm256_mul_ps(v, _mm256_set1_ps(kInvSqrt2)))));
      });
  if (needs_grad({x}))
    record_unary("gelu", out, x, x, [](float v) {
      constexpr float kInvSqrt2Pi = 0.3989422804014327f;
      return 0.5f * (1 + std::erf(v * kInvSqrt2)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v);
    });
  return out;
}

namespace {
Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
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
