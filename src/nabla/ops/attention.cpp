#include "nabla/ops/attention.h"

#include <cmath>

#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/attention.h"
#include "nabla/kernels/elementwise.h"
#include "nabla/ops/op_utils.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

// The mask as an additive f32 tensor (bool true = attend -> 0, false -> -inf), in its own shape.
Tensor additive_mask(const Tensor& mask) {
  if (mask.dtype() == DType::f32) return mask;
  NABLA_CHECK(mask.dtype() == DType::boolean, "scaled_dot_product_attention: mask must be bool (true = attend) or "
              "f32 (added to the scores), got ", dtype_name(mask.dtype()));
  Tensor packed = mask.contiguous();
  Tensor out = Tensor::empty(mask.shape());
  const bool* m = packed.data<bool>();
  float* o = out.data<float>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) o[i] = m[i] ? 0.0f : -INFINITY;
  return out;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool is_causal,
                                    std::optional<double> scale) {
  NABLA_PROFILE_OP("scaled_dot_product_attention");
  const char* op = "scaled_dot_product_attention";
  detail::check_f32(q, op, "query");
  detail::check_f32(k, op, "key");
  detail::check_f32(v, op, "value");
  NABLA_CHECK(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(), op, ": query, key and value need the same "
              "number (>= 2) of dimensions, got ", q.shape(), ", ", k.shape(), ", ", v.shape());
  const int r = q.dim();
  const int64_t t = q.shape()[r - 2], d = q.shape()[r - 1], s = k.shape()[r - 2], dv = v.shape()[r - 1];
  NABLA_CHECK(k.shape()[r - 1] == d && v.shape()[r - 2] == s, op, ": shapes do not fit: query ", q.shape(), " key ",
              k.shape(), " value ", v.shape(), " (need key [..., S, ", d, "] and value [..., S, Dv])");
  Shape lead(q.shape().begin(), q.shape().end() - 2);
  for (int i = 0; i < r - 2; ++i)
    NABLA_CHECK(k.shape()[i] == q.shape()[i] && v.shape()[i] == q.shape()[i], op, ": leading dimensions differ: query ",
                q.shape(), " key ", k.shape(), " value ", v.shape());
  NABLA_CHECK(!(is_causal && mask.defined()), op, ": pass either a mask or is_causal, not both (fold the causal "
              "pattern into the mask)");
  const int64_t heads = lead.numel();
  kernels::AttentionShape a;
  a.heads = heads;
  a.t = t;
  a.s = s;
  a.d = d;
  a.dv = dv;
  a.scale = float(scale.value_or(1.0 / std::sqrt(double(d))));
  a.causal = is_causal;
  Tensor mask_f32;
  if (mask.defined()) {
    mask_f32 = additive_mask(mask);
    Shape full = lead;
    full.push_back(t);
    full.push_back(s);
    broadcast_shapes(mask_f32.shape(), full, op);
    NABLA_CHECK(mask_f32.dim() <= full.size(), op, ": mask ", mask.shape(), " has more dimensions than the scores ", full);
    Tensor expanded = views::expand(mask_f32, full);
    a.mask = expanded.data<float>();
    a.mask_row_stride = expanded.strides()[r - 2];
    a.mask_col_stride = expanded.strides()[r - 1];
    a.mask_offsets.resize(heads);
    for (int64_t h = 0; h < heads; ++h) {  // offset of each flattened head through the lead strides
      int64_t rem = h, offset = 0;
      for (int i = r - 3; i >= 0; --i) {
        offset += (rem % lead[i]) * expanded.strides()[i];
        rem /= lead[i];
      }
      a.mask_offsets[h] = offset;
    }
  }
  Tensor qp = q.contiguous(), kp = k.contiguous(), vp = v.contiguous();
  Shape out_shape = lead;
  out_shape.push_back(t);
  out_shape.push_back(dv);
  Tensor out = Tensor::empty(out_shape), lse = Tensor::empty({heads, t});
  if (heads * t > 0)
    kernels::attention_forward(a, qp.data<float>(), kp.data<float>(), vp.data<float>(), out.data<float>(), lse.data<float>());
  if (needs_grad({q, k, v})) {
    SavedTensor sq(qp, op), sk(kp, op), sv(vp, op), so(out, op);
    Tensor keep_mask = mask_f32;
    record(op, out, {q, k, v}, [=](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dq = Tensor::empty(sq.get().shape()), dk = Tensor::empty(sk.get().shape()), dvv = Tensor::empty(sv.get().shape());
      if (heads * t > 0)
        kernels::attention_backward(a, sq.get().data<float>(), sk.get().data<float>(), sv.get().data<float>(),
                                    so.get().data<float>(), lse.data<float>(), gp.data<float>(), dq.data<float>(),
                                    dk.data<float>(), dvv.data<float>());
      (void)keep_mask;  // keeps the mask buffer alive for a.mask
      return std::vector<Tensor>{dq, dk, dvv};
    });
  }
  return out;
}

}  // namespace nabla
