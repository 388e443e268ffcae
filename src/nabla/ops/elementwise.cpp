#include "nabla/ops/elementwise.h"

#include <cmath>

#include "nabla/autograd/grad_mode.h"
#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/copy.h"
#include "nabla/kernels/elementwise.h"
#include "nabla/ops/op_utils.h"
#include "nabla/ops/reduce.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using detail::check_f32;

namespace {

template <typename F>
Tensor binary_f32(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_f32(a, op, "first operand");
  check_f32(b, op, "second operand");
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {  // the common case, no views
    Tensor out = Tensor::empty(a.shape());
    kernels::map_binary(a.data<float>(), b.data<float>(), out.data<float>(), out.numel(), f);
    return out;
  }
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape);
  kernels::map_binary_strided<float, float, float>(views::expand(a, shape), views::expand(b, shape), out, f);
  return out;
}

template <typename F>
Tensor unary_f32(const Tensor& x, const char* op, F f) {
  check_f32(x, op);
  Tensor in = x.is_contiguous() ? x : kernels::contiguous_copy(x);
  Tensor out = Tensor::empty(x.shape());
  kernels::map_unary(in.data<float>(), out.data<float>(), out.numel(), f);
  return out;
}

template <typename F>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, F f) {
  detail::check_defined(a, op, "first operand");
  detail::check_defined(b, op, "second operand");
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape, DType::boolean);
  if (a.dtype() == b.dtype() && a.dtype() != DType::bf16) {
    dispatch_dtype(a.dtype(), [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      if constexpr (!std::is_same_v<T, bf16>)
        kernels::map_binary_strided<T, T, bool>(views::expand(a, shape), views::expand(b, shape), out,
                                                [f](T x, T y) { return f(x, y); });
    });
  } else {
    kernels::map_binary_strided<float, float, bool>(views::expand(a.to(DType::f32), shape),
                                                    views::expand(b.to(DType::f32), shape), out, f);
  }
  return out;
}

}  // namespace

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  NABLA_PROFILE_OP("sum_to");
  if (grad.shape() == shape) return grad;
  std::vector<int64_t> dims;
  const int lead = grad.dim() - shape.size();
  for (int i = 0; i < grad.dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && grad.shape()[i] != 1)) dims.push_back(i);
  Tensor reduced = dims.empty() ? grad : sum(grad, dims, true);
  return reduced.reshape(shape);
}

Tensor add(const Tensor& a, const Tensor& b) {
  NABLA_PROFILE_OP("add");
  Tensor out = binary_f32(a, b, "add", [](float x, float y) { return x + y; });
  if (needs_grad({a, b})) {
    Shape sa = a.shape(), sb = b.shape();
    record("add", out, {a, b}, [sa, sb](const Tensor& g) { return std::vector<Tensor>{sum_to(g, sa), sum_to(g, sb)}; });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  NABLA_PROFILE_OP("sub");
  Tensor out = binary_f32(a, b, "sub", [](float x, float y) { return x - y; });
  if (needs_grad({a, b})) {
    Shape sa = a.shape(), sb = b.shape();
    record("sub", out, {a, b}, [sa, sb](const Tensor& g) {
      return std::vector<Tensor>{sum_to(g, sa), sum_to(neg(g), sb)};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  NABLA_PROFILE_OP("mul");
  Tensor out = binary_f32(a, b, "mul", [](float x, float y) { return x * y; });
  if (needs_grad({a, b})) {
    SavedTensor sa(a, "mul"), sb(b, "mul");
    bool ga = a.requires_grad(), gb = b.requires_grad();
    record("mul", out, {a, b}, [sa, sb, ga, gb](const Tensor& g) {
      const Tensor &x = sa.get(), &y = sb.get();
      return std::vector<Tensor>{ga ? sum_to(mul(g, y), x.shape()) : Tensor(),
                                 gb ? sum_to(mul(g, x), y.shape()) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  NABLA_PROFILE_OP("div");
  Tensor out = binary_f32(a, b, "div", [](float x, float y) { return x / y; });
  if (needs_grad({a, b})) {
    SavedTensor sb(b, "div"), so(out, "div");
    Shape sa = a.shape();
    bool gb = b.requires_grad();
    record("div", out, {a, b}, [sa, sb, so, gb](const Tensor& g) {
      const Tensor& y = sb.get();
      Tensor ga = div(g, y);
      return std::vector<Tensor>{sum_to(ga, sa), gb ? sum_to(neg(mul(ga, so.get())), y.shape()) : Tensor()};
    });
  }
  return out;
}

namespace {
// Ties split the gradient evenly, as PyTorch's maximum/minimum do.
Tensor extremum(const Tensor& a, const Tensor& b, bool is_max) {
  const char* op = is_max ? "maximum" : "minimum";
  Tensor out = is_max ? binary_f32(a, b, op, [](float x, float y) { return (x > y || std::isnan(x)) ? x : y; })
                      : binary_f32(a, b, op, [](float x, float y) { return (x < y || std::isnan(x)) ? x : y; });
  if (needs_grad({a, b})) {
    SavedTensor sa(a, op), sb(b, op);
    record(op, out, {a, b}, [sa, sb, is_max](const Tensor& g) {
      const Tensor &x = sa.get(), &y = sb.get();
      Tensor wa = binary_f32(x, y, "maximum backward", [is_max](float p, float q) {
        return p == q ? 0.5f : ((is_max ? p > q : p < q) ? 1.0f : 0.0f);
      });
      return std::vector<Tensor>{sum_to(mul(g, wa), x.shape()), sum_to(mul(g, sub(ones({}), wa)), y.shape())};
    });
  }
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(a, b, false); }

Tensor pow(const Tensor& base, const Tensor& exponent) {
  NABLA_PROFILE_OP("pow");
  Tensor out = binary_f32(base, exponent, "pow", [](float x, float y) { return std::pow(x, y); });
  if (needs_grad({base, exponent})) {
    SavedTensor sx(base, "pow"), sy(exponent, "pow"), so(out, "pow");
    bool ge = exponent.requires_grad();
    record("pow", out, {base, exponent}, [sx, sy, so, ge](const Tensor& g) {
      const Tensor &x = sx.get(), &y = sy.get();
      Tensor dx =
          binary_f32(x, y, "pow backward", [](float p, float q) { return q == 0 ? 0.0f : q * std::pow(p, q - 1); });
      Tensor dy;
      if (ge) {
        Tensor log_x =
            binary_f32(x, so.get(), "pow backward", [](float p, float o) { return p == 0 ? 0.0f : o * std::log(p); });
        dy = sum_to(mul(g, log_x), y.shape());
      }
      return std::vector<Tensor>{sum_to(mul(g, dx), x.shape()), dy};
    });
  }
  return out;
}

Tensor pow(const Tensor& base, double exponent) {
  NABLA_PROFILE_OP("pow");
  const float e = float(exponent);
  Tensor out = unary_f32(base, "pow", [e](float x) { return std::pow(x, e); });
  if (needs_grad({base})) {
    SavedTensor sx(base, "pow");
    record("pow", out, {base}, [sx, e](const Tensor& g) {
      Tensor d = unary_f32(sx.get(), "pow backward", [e](float x) { return e == 0 ? 0.0f : e * std::pow(x, e - 1); });
      return std::vector<Tensor>{mul(g, d)};
    });
  }
  return out;
}

Tensor add(const Tensor& a, double b) {
  NABLA_PROFILE_OP("add");
  const float s = float(b);
  Tensor out = unary_f32(a, "add", [s](float x) { return x + s; });
  if (needs_grad({a})) record("add", out, {a}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor mul(const Tensor& a, double b) {
  NABLA_PROFILE_OP("mul");
  const float s = float(b);
  Tensor out = unary_f32(a, "mul", [s](float x) { return x * s; });
  if (needs_grad({a})) record("mul", out, {a}, [b](const Tensor& g) { return std::vector<Tensor>{mul(g, b)}; });
  return out;
}

Tensor neg(const Tensor& x) {
  NABLA_PROFILE_OP("neg");
  Tensor out = unary_f32(x, "neg", [](float v) { return -v; });
  if (needs_grad({x})) record("neg", out, {x}, [](const Tensor& g) { return std::vector<Tensor>{neg(g)}; });
  return out;
}

Tensor exp(const Tensor& x) {
  NABLA_PROFILE_OP("exp");
  check_f32(x, "exp");
  Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape());
  kernels::map_unary_vec(in.data<float>(), out.data<float>(), out.numel(), vec::exp_scalar,
                         [](auto v) { return vec::exp(v); });
  if (needs_grad({x})) {
    SavedTensor so(out, "exp");
    record("exp", out, {x}, [so](const Tensor& g) { return std::vector<Tensor>{mul(g, so.get())}; });
  }
  return out;
}

Tensor log(const Tensor& x) {
  NABLA_PROFILE_OP("log");
  Tensor out = unary_f32(x, "log", [](float v) { return std::log(v); });
  if (needs_grad({x})) {
    SavedTensor sx(x, "log");
    record("log", out, {x}, [sx](const Tensor& g) { return std::vector<Tensor>{div(g, sx.get())}; });
  }
  return out;
}

Tensor sqrt(const Tensor& x) {
  NABLA_PROFILE_OP("sqrt");
  Tensor out = unary_f32(x, "sqrt", [](float v) { return std::sqrt(v); });
  if (needs_grad({x})) {
    SavedTensor so(out, "sqrt");
    record("sqrt", out, {x}, [so](const Tensor& g) { return std::vector<Tensor>{div(mul(g, 0.5), so.get())}; });
  }
  return out;
}

Tensor rsqrt(const Tensor& x) {
  NABLA_PROFILE_OP("rsqrt");
  Tensor out = unary_f32(x, "rsqrt", [](float v) { return 1.0f / std::sqrt(v); });
  if (needs_grad({x})) {
    SavedTensor so(out, "rsqrt");
    record("rsqrt", out, {x}, [so](const Tensor& g) {
      return std::vector<Tensor>{
          mul(g, unary_f32(so.get(), "rsqrt backward", [](float r) { return -0.5f * r * r * r; }))};
    });
  }
  return out;
}

Tensor abs(const Tensor& x) {
  NABLA_PROFILE_OP("abs");
  Tensor out = unary_f32(x, "abs", [](float v) { return std::fabs(v); });
  if (needs_grad({x})) {
    SavedTensor sx(x, "abs");
    record("abs", out, {x}, [sx](const Tensor& g) {
      return std::vector<Tensor>{
          mul(g, unary_f32(sx.get(), "abs backward", [](float v) { return float((v > 0) - (v < 0)); }))};
    });
  }
  return out;
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  NABLA_PROFILE_OP("clamp");
  const float lo = min ? float(*min) : -INFINITY, hi = max ? float(*max) : INFINITY;
  NABLA_CHECK(!(min && max) || lo <= hi, "clamp: min ", lo, " is greater than max ", hi);
  Tensor out = unary_f32(x, "clamp", [lo, hi](float v) { return std::isnan(v) ? v : std::min(std::max(v, lo), hi); });
  if (needs_grad({x})) {
    SavedTensor sx(x, "clamp");
    record("clamp", out, {x}, [sx, lo, hi](const Tensor& g) {
      return std::vector<Tensor>{
          mul(g, unary_f32(sx.get(), "clamp backward", [lo, hi](float v) { return float(v >= lo && v <= hi); }))};
    });
  }
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  NABLA_PROFILE_OP("where");
  detail::check_defined(condition, "where", "condition");
  NABLA_CHECK(condition.dtype() == DType::boolean, "where: condition must be a bool tensor, got ",
              dtype_name(condition.dtype()), "; build it with a comparison such as gt(x, y)");
  check_f32(a, "where", "first value");
  check_f32(b, "where", "second value");
  Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  // Select as two broadcast passes: first a where true, then b where false.
  Tensor cond = views::expand(condition, shape);
  Tensor out = Tensor::empty(shape);
  kernels::map_binary_strided<bool, float, float>(cond, views::expand(a, shape), out,
                                                  [](bool c, float v) { return c ? v : 0.0f; });
  Tensor from_b = Tensor::empty(shape);
  kernels::map_binary_strided<bool, float, float>(cond, views::expand(b, shape), from_b,
                                                  [](bool c, float v) { return c ? 0.0f : v; });
  kernels::map_binary(out.data<float>(), from_b.data<float>(), out.data<float>(), out.numel(),
                      [](float p, float q) { return p + q; });
  if (needs_grad({a, b})) {
    Tensor saved_condition = condition;
    Shape sa = a.shape(), sb = b.shape();
    record("where", out, {a, b}, [saved_condition, sa, sb](const Tensor& g) {
      Tensor zero = zeros({});
      return std::vector<Tensor>{sum_to(where(saved_condition, g, zero), sa),
                                 sum_to(where(saved_condition, zero, g), sb)};
    });
  }
  return out;
}

Tensor eq(const Tensor& a, const Tensor& b) {
  return compare(a, b, "eq", [](auto x, auto y) { return x == y; });
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare(a, b, "ne", [](auto x, auto y) { return x != y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare(a, b, "lt", [](auto x, auto y) { return x < y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare(a, b, "le", [](auto x, auto y) { return x <= y; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare(a, b, "gt", [](auto x, auto y) { return x > y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare(a, b, "ge", [](auto x, auto y) { return x >= y; });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return add(a, -b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return mul(a, 1.0 / b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return add(neg(b), a); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return div(full(b.shape(), a), b); }

}  // namespace nabla
