#include "nabla/ops/reduce.h"

#include <algorithm>
#include <cmath>

#include "nabla/autograd/grad_mode.h"
#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/copy.h"
#include "nabla/kernels/reduce.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/op_utils.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

// The reduction laid out as a contiguous [outer, reduce, inner] block.
struct ReductionPlan {
  Tensor block;  // packed data in that order
  int64_t outer = 1, reduce = 1, inner = 1;
  Shape kept_shape;    // output shape with keepdim
  Shape output_shape;  // output shape as requested
};

ReductionPlan plan_reduction(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  detail::check_f32(x, op);
  const int rank = x.dim();
  std::vector<bool> reduced(rank, dims.empty());
  for (int64_t d : dims) reduced[wrap_dim(d, rank, op)] = true;
  ReductionPlan plan;
  for (int i = 0; i < rank; ++i) {
    plan.kept_shape.push_back(reduced[i] ? 1 : x.shape()[i]);
    if (!reduced[i] || keepdim) plan.output_shape.push_back(reduced[i] ? 1 : x.shape()[i]);
  }
  // A single run of reduced dims in a packed tensor needs no copy.
  int first = -1, last = -1;
  for (int i = 0; i < rank; ++i)
    if (reduced[i]) {
      if (first < 0) first = i;
      last = i;
    }
  bool one_run =
      first >= 0 && std::all_of(reduced.begin() + first, reduced.begin() + last + 1, [](bool r) { return r; });
  if (first < 0) {  // nothing to reduce (0-dim input)
    plan.block = x.contiguous();
    return plan;
  }
  if (one_run) {
    plan.block = x.is_contiguous() ? x : kernels::contiguous_copy(x);
    for (int i = 0; i < first; ++i) plan.outer *= x.shape()[i];
    for (int i = first; i <= last; ++i) plan.reduce *= x.shape()[i];
    for (int i = last + 1; i < rank; ++i) plan.inner *= x.shape()[i];
    return plan;
  }
  std::vector<int64_t> order;
  for (int i = 0; i < rank; ++i)
    if (!reduced[i]) {
      order.push_back(i);
      plan.outer *= x.shape()[i];
    }
  for (int i = 0; i < rank; ++i)
    if (reduced[i]) {
      order.push_back(i);
      plan.reduce *= x.shape()[i];
    }
  plan.block = kernels::contiguous_copy(views::permute(x, order));
  return plan;
}

// Gradient of a reduction: the output gradient broadcast back over the reduced dims.
Tensor broadcast_back(const Tensor& g, const Shape& kept_shape, const Shape& input_shape) {
  return g.reshape(kept_shape).expand(input_shape);
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  NABLA_PROFILE_OP("sum");
  ReductionPlan plan = plan_reduction(x, dims, keepdim, "sum");
  Tensor out = Tensor::empty(plan.output_shape);
  kernels::sum_reduce(plan.block.data<float>(), out.data<float>(), plan.outer, plan.reduce, plan.inner);
  if (needs_grad({x})) {
    Shape kept = plan.kept_shape, in = x.shape();
    record("sum", out, {x}, [kept, in](const Tensor& g) { return std::vector<Tensor>{broadcast_back(g, kept, in)}; });
  }
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  NABLA_PROFILE_OP("mean");
  ReductionPlan plan = plan_reduction(x, dims, keepdim, "mean");
  Tensor out = Tensor::empty(plan.output_shape);
  kernels::sum_reduce(plan.block.data<float>(), out.data<float>(), plan.outer, plan.reduce, plan.inner);
  const float scale = 1.0f / float(plan.reduce);
  float* p = out.data<float>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) p[i] *= scale;
  if (needs_grad({x})) {
    Shape kept = plan.kept_shape, in = x.shape();
    record("mean", out, {x},
           [kept, in, scale](const Tensor& g) { return std::vector<Tensor>{broadcast_back(mul(g, scale), kept, in)}; });
  }
  return out;
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  NABLA_PROFILE_OP("var");
  ReductionPlan plan = plan_reduction(x, dims, keepdim, "var");
  Tensor m = Tensor::empty({plan.outer * plan.inner});
  kernels::sum_reduce(plan.block.data<float>(), m.data<float>(), plan.outer, plan.reduce, plan.inner);
  float* mp = m.data<float>();
  for (int64_t i = 0, n = m.numel(); i < n; ++i) mp[i] /= float(plan.reduce);
  Tensor out = Tensor::empty(plan.output_shape);
  kernels::squared_deviation_reduce(plan.block.data<float>(), mp, out.data<float>(), plan.outer, plan.reduce,
                                    plan.inner);
  const float denominator = float(std::max<int64_t>(plan.reduce - correction, 0));
  float* p = out.data<float>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) p[i] /= denominator;
  if (needs_grad({x})) {
    SavedTensor sx(x, "var");
    Shape kept = plan.kept_shape;
    std::vector<int64_t> saved_dims = dims;
    record("var", out, {x}, [sx, kept, saved_dims, denominator](const Tensor& g) {
      const Tensor& input = sx.get();
      Tensor centered = sub(input, mean(input, saved_dims, true));
      return std::vector<Tensor>{mul(mul(g.reshape(kept), centered), 2.0 / denominator)};
    });
  }
  return out;
}

Tensor norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim) {
  NABLA_PROFILE_OP("norm");
  detail::check_f32(x, "norm");
  if (p == 2.0) return sqrt(sum(mul(x, x), dims, keepdim));
  if (p == 1.0) return sum(abs(x), dims, keepdim);
  if (std::isinf(p)) {
    NABLA_CHECK(p > 0, "norm: p = -inf is not supported");
    Tensor flat_abs = abs(x);
    if (dims.empty() && !keepdim) return max(flat_abs);
    NABLA_CHECK(dims.size() == 1, "norm: the infinity norm supports one dimension or all, got ", dims.size());
    return max(flat_abs, dims[0], keepdim).values;
  }
  NABLA_CHECK(p > 0, "norm: p must be positive, got ", p);
  return pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
}

namespace {

ValuesIndices extreme(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  ReductionPlan plan = plan_reduction(x, {dim}, keepdim, op);
  NABLA_CHECK(plan.reduce > 0, op, ": cannot reduce over an empty dimension (shape ", x.shape(), ")");
  Tensor values = Tensor::empty(plan.output_shape), indices = Tensor::empty(plan.output_shape, DType::i64);
  (is_max ? kernels::max_reduce : kernels::min_reduce)(plan.block.data<float>(), values.data<float>(),
                                                       indices.data<int64_t>(), plan.outer, plan.reduce, plan.inner);
  if (needs_grad({x})) {
    Shape in = x.shape();
    int64_t outer = plan.outer, reduce = plan.reduce, inner = plan.inner;
    record(op, values, {x}, [indices, in, outer, reduce, inner](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dx = zeros(in);
      const float* gv = gp.data<float>();
      const int64_t* idx = indices.data<int64_t>();
      float* d = dx.data<float>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) d[(o * reduce + idx[o * inner + i]) * inner + i] = gv[o * inner + i];
      return std::vector<Tensor>{dx};
    });
  }
  return {values, indices};
}

}  // namespace

ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) { return extreme(x, dim, keepdim, true); }
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) { return extreme(x, dim, keepdim, false); }
Tensor max(const Tensor& x) { return extreme(x.reshape({-1}), 0, false, true).values; }
Tensor min(const Tensor& x) { return extreme(x.reshape({-1}), 0, false, false).values; }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NABLA_PROFILE_OP("argmax");
  NoGradGuard no_grad;
  return extreme(x, dim, keepdim, true).indices;
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  NABLA_PROFILE_OP("argmin");
  NoGradGuard no_grad;
  return extreme(x, dim, keepdim, false).indices;
}

}  // namespace nabla
