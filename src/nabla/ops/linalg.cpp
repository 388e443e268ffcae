#include "nabla/ops/linalg.h"

#include "nabla/autograd/node.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/copy.h"
#include "nabla/kernels/matmul.h"
#include "nabla/ops/autocast.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/op_utils.h"
#include "nabla/ops/reduce.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

void check_matmul_dtype(const Tensor& t, const char* what) {
  detail::check_defined(t, "matmul", what);
  NABLA_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::bf16, "matmul: ", what, " must be f32 or bf16, got ",
              dtype_name(t.dtype()));
}

// Describes the last two dims of `t` (expanded to batch_shape) as a GEMM operand. Falls back to
// a packed copy when the batch dims do not collapse to one stride or no matrix stride is 1.
kernels::MatrixOperand as_operand(Tensor& t, const Shape& batch_shape, Tensor& keep_alive) {
  Shape full = batch_shape;
  full.push_back(t.shape()[t.dim() - 2]);
  full.push_back(t.shape()[t.dim() - 1]);
  Tensor e = views::expand(t, full);
  const int nb = batch_shape.size();
  auto describe = [&](const Tensor& v) -> std::optional<kernels::MatrixOperand> {
    int64_t rs = v.strides()[nb], cs = v.strides()[nb + 1];
    if (rs != 1 && cs != 1) return std::nullopt;
    // Batch: all-broadcast -> 1; else the dims must collapse to a single stride.
    int64_t batch = 1, stride = 0;
    bool all_zero = true;
    for (int i = 0; i < nb; ++i)
      if (v.shape()[i] != 1 && v.strides()[i] != 0) all_zero = false;
    if (all_zero) return kernels::MatrixOperand{v.raw_data(), v.dtype(), 1, 0, rs, cs};
    int64_t expected = -1;
    for (int i = nb - 1; i >= 0; --i) {
      if (v.shape()[i] == 1) continue;
      if (expected < 0)
        stride = v.strides()[i];
      else if (v.strides()[i] != expected)
        return std::nullopt;
      expected = v.strides()[i] * v.shape()[i];
      batch *= v.shape()[i];
    }
    if (stride == 0) return std::nullopt;
    return kernels::MatrixOperand{v.raw_data(), v.dtype(), batch, stride, rs, cs};
  };
  if (auto op = describe(e)) return *op;
  keep_alive = kernels::contiguous_copy(e);
  return *describe(keep_alive);
}

// Raw batched product of >= 2-D tensors with broadcasting batch dims; f32 output.
// bias (f32 [n]) is added to every row of the product, inside the GEMM.
Tensor matmul_raw(Tensor a, Tensor b, const Tensor& bias = Tensor()) {
  const int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1], n = b.shape()[b.dim() - 1];
  NABLA_CHECK(b.shape()[b.dim() - 2] == k, "matmul: inner dimensions differ: ", a.shape(), " @ ", b.shape(), " (", k,
              " vs ", b.shape()[b.dim() - 2], ")");
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch_shape = broadcast_shapes(batch_a, batch_b, "matmul (batch dimensions)");
  Tensor hold_a, hold_b;
  kernels::MatrixOperand oa = as_operand(a, batch_shape, hold_a), ob = as_operand(b, batch_shape, hold_b);
  Shape out_shape = batch_shape;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = Tensor::empty(out_shape);
  const Tensor bp = bias.defined() ? bias.contiguous() : Tensor();
  kernels::matmul(oa, ob, out.data<float>(), batch_shape.numel(), m, k, n, false,
                  bp.defined() ? bp.data<float>() : nullptr);
  return out;
}

// Under bf16 autocast, f32 operands are multiplied as bf16 (see ops/autocast.h).
Tensor autocast_operand(const Tensor& t, bool low_precision) {
  return low_precision && t.dtype() == DType::f32 ? detail::bf16_gemm_operand(t) : t;
}

// The upstream gradient in the form the saved operand was multiplied in: bf16 storage for a bf16
// operand, bf16-rounded f32 under emulated autocast, else as is.
Tensor gradient_operand(const Tensor& g, const Tensor& saved_operand, bool low_precision) {
  if (saved_operand.dtype() == DType::bf16) return detail::to_bf16(g);
  return low_precision ? detail::round_to_bf16(g) : g;
}

Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  const bool low_precision = autocast_dtype() == DType::bf16;
  Tensor a_op = autocast_operand(a, low_precision), b_op = autocast_operand(b, low_precision);
  Tensor out = matmul_raw(a_op, b_op);
  if (needs_grad({a, b})) {
    SavedTensor sa(a_op, "matmul"), sb(b_op, "matmul");
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    const DType a_dtype = a.dtype(), b_dtype = b.dtype();
    record("matmul", out, {a, b}, [sa, sb, ga, gb, a_dtype, b_dtype, low_precision](const Tensor& g) {
      const Tensor &x = sa.get(), &y = sb.get();
      Tensor dx, dy;
      if (ga) dx = sum_to(matmul_raw(gradient_operand(g, y, low_precision), y.transpose(-1, -2)), x.shape());
      if (gb) dy = sum_to(matmul_raw(x.transpose(-1, -2), gradient_operand(g, x, low_precision)), y.shape());
      if (ga && a_dtype != DType::f32) dx = dx.to(a_dtype);
      if (gb && b_dtype != DType::f32) dy = dy.to(b_dtype);
      return std::vector<Tensor>{dx, dy};
    });
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  NABLA_PROFILE_OP("matmul");
  check_matmul_dtype(a, "first operand");
  check_matmul_dtype(b, "second operand");
  NABLA_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least one dimension, got shapes ", a.shape(),
              " and ", b.shape());
  if (a.dim() == 1 && b.dim() == 1) {
    NABLA_CHECK(a.shape()[0] == b.shape()[0], "matmul: vectors of different lengths ", a.shape(), " and ", b.shape());
    return matmul_nd(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() == 1) return matmul_nd(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul_nd(a, b.unsqueeze(1)).squeeze(-1);
  return matmul_nd(a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  NABLA_PROFILE_OP("linear");
  detail::check_f32(x, "linear");
  detail::check_f32(weight, "linear", "weight");
  NABLA_CHECK(weight.dim() == 2, "linear: weight must be [out_features, in_features], got shape ", weight.shape());
  NABLA_CHECK(x.dim() >= 1 && x.shape()[x.dim() - 1] == weight.shape()[1], "linear: input of shape ", x.shape(),
              " does not end in in_features = ", weight.shape()[1], " (weight shape ", weight.shape(), ")");
  const int64_t in_features = weight.shape()[1], out_features = weight.shape()[0];
  if (bias.defined()) {
    detail::check_f32(bias, "linear", "bias");
    NABLA_CHECK(bias.dim() == 1 && bias.shape()[0] == out_features, "linear: bias must have shape [", out_features,
                "], got ", bias.shape());
  }
  // x as a raw [rows, in] matrix (the graph edge is recorded on x itself below).
  const int64_t rows = in_features ? x.numel() / in_features : 0;
  Tensor packed = x.is_contiguous() ? x : kernels::contiguous_copy(x);
  Tensor x2 = views::as_strided(packed, {rows, in_features}, {in_features, 1}, packed.offset());
  const bool low_precision = autocast_dtype() == DType::bf16;
  Tensor x_op = autocast_operand(x2, low_precision), w_op = autocast_operand(weight, low_precision);
  Tensor y = matmul_raw(x_op, views::permute(w_op, {1, 0}), bias);
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out_features;
  Tensor out = views::as_strided(y, out_shape, contiguous_strides(out_shape), 0);
  if (needs_grad({x, weight, bias})) {
    SavedTensor sx(x_op, "linear"), sw(w_op, "linear");
    Shape x_shape = x.shape();
    bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
    record("linear", out, {x, weight, bias},
           [sx, sw, x_shape, gx, gw, gb, out_features, low_precision](const Tensor& g) {
             Tensor g2 = g.reshape({-1, out_features});
             Tensor g_op = gradient_operand(g2, sw.get(), low_precision);
             Tensor dx, dw, db;
             if (gx) dx = matmul_raw(g_op, sw.get()).reshape(x_shape);
             if (gw) dw = matmul_raw(views::permute(g_op, {1, 0}), sx.get());
             if (gb) db = sum(g2, {0});  // from the f32 gradient: only GEMM inputs are bf16
             return std::vector<Tensor>{dx, dw, db};
           });
  }
  return out;
}

}  // namespace nabla
