#include "nabla/ops/attention.h"

#include <cmath>
#include <optional>

#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/amx_gemm.h"
#include "nabla/kernels/attention.h"
#include "nabla/kernels/elementwise.h"
#include "nabla/ops/autocast.h"
#include "nabla/ops/op_utils.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

// The mask as an additive f32 tensor (bool true = attend -> 0, false -> -inf), in its own shape.
Tensor additive_mask(const Tensor& mask) {
  if (mask.dtype() == DType::f32) return mask;
  NABLA_CHECK(mask.dtype() == DType::boolean,
              "scaled_dot_product_attention: mask must be bool (true = attend) or "
              "f32 (added to the scores), got ",
              dtype_name(mask.dtype()));
  Tensor packed = mask.contiguous();
  Tensor out = Tensor::empty(mask.shape());
  const bool* m = packed.data<bool>();
  float* o = out.data<float>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) o[i] = m[i] ? 0.0f : -INFINITY;
  return out;
}

// x's heads read in place, when its rows are contiguous and its lead is at most [batch, heads]:
// a KV cache's first S positions, for one. Else none (the caller packs x).
std::optional<kernels::AttentionLayout> in_place_layout(const Tensor& x) {
  const int r = x.dim();
  const auto& st = x.strides();
  if (r < 2 || r > 4 || st[r - 1] != 1) return std::nullopt;
  if (r == 2) return kernels::AttentionLayout{1, 0, 0, st[0]};
  if (r == 3) return kernels::AttentionLayout{1, st[0], 0, st[1]};
  return kernels::AttentionLayout{x.shape()[1], st[0], st[1], st[2]};
}

// Under bf16 autocast the tile products run in bf16 on AMX, where the CPU has it. Without AMX,
// with a mask, or with fewer queries than a tile's rows, attention stays in f32.
bool use_bf16_tiles(int64_t queries, bool masked) {
  return autocast_dtype() == DType::bf16 && !masked && queries >= kernels::amx::kAlign && kernels::amx::available();
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    bool is_causal, std::optional<double> scale) {
  NABLA_PROFILE_OP("scaled_dot_product_attention");
  const char* op = "scaled_dot_product_attention";
  detail::check_f32(q, op, "query");
  detail::check_f32(k, op, "key");
  detail::check_f32(v, op, "value");
  NABLA_CHECK(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(), op,
              ": query, key and value need the same "
              "number (>= 2) of dimensions, got ",
              q.shape(), ", ", k.shape(), ", ", v.shape());
  const int r = q.dim();
  const int64_t t = q.shape()[r - 2], d = q.shape()[r - 1], s = k.shape()[r - 2], dv = v.shape()[r - 1];
  NABLA_CHECK(k.shape()[r - 1] == d && v.shape()[r - 2] == s, op, ": shapes do not fit: query ", q.shape(), " key ",
              k.shape(), " value ", v.shape(), " (need key [..., S, ", d, "] and value [..., S, Dv])");
  Shape lead(q.shape().begin(), q.shape().end() - 2);
  for (int i = 0; i < r - 2; ++i)
    NABLA_CHECK(k.shape()[i] == q.shape()[i] && v.shape()[i] == q.shape()[i], op, ": leading dimensions differ: query ",
                q.shape(), " key ", k.shape(), " value ", v.shape());
  NABLA_CHECK(!(is_causal && mask.defined()), op,
              ": pass either a mask or is_causal, not both (fold the causal "
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
  a.bf16_tiles = use_bf16_tiles(t, mask.defined());
  a.set_packed();
  Tensor mask_f32;
  if (mask.defined()) {
    mask_f32 = additive_mask(mask);
    Shape full = lead;
    full.push_back(t);
    full.push_back(s);
    broadcast_shapes(mask_f32.shape(), full, op);
    NABLA_CHECK(mask_f32.dim() <= full.size(), op, ": mask ", mask.shape(), " has more dimensions than the scores ",
                full);
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
  // Without gradients (decoding) strided operands are read in place: packing a KV cache's
  // prefix copied all of it on every token. The gradients take the operands' layouts, so with
  // them the operands are packed.
  const bool grad = needs_grad({q, k, v});
  auto operand = [&](const Tensor& x, kernels::AttentionLayout& layout) {
    if (!grad)
      if (const auto in_place = in_place_layout(x)) {
        layout = *in_place;
        return x;
      }
    return x.contiguous();
  };
  Tensor qp = operand(q, a.q_layout), kp = operand(k, a.k_layout), vp = operand(v, a.v_layout);
  Shape out_shape = lead;
  out_shape.push_back(t);
  out_shape.push_back(dv);
  Tensor out = Tensor::empty(out_shape), lse = Tensor::empty({heads, t});
  if (heads * t > 0)
    kernels::attention_forward(a, qp.data<float>(), kp.data<float>(), vp.data<float>(), out.data<float>(),
                               lse.data<float>());
  if (grad) {
    SavedTensor sq(qp, op), sk(kp, op), sv(vp, op), so(out, op);
    Tensor keep_mask = mask_f32;
    record(op, out, {q, k, v}, [=](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dq = Tensor::empty(sq.get().shape()), dk = Tensor::empty(sk.get().shape()),
             dvv = Tensor::empty(sv.get().shape());
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

Tensor self_attention_heads(const Tensor& qkv, int64_t num_heads, bool is_causal, bool time_major) {
  NABLA_PROFILE_OP("self_attention_heads");
  const char* op = "self_attention_heads";
  detail::check_f32(qkv, op, "qkv");
  NABLA_CHECK(qkv.dim() == 3 && qkv.shape()[2] % 3 == 0, op,
              ": qkv must be [B, T, 3E] (or [T, B, 3E] time-major), got ", qkv.shape());
  const int64_t e = qkv.shape()[2] / 3;
  NABLA_CHECK(num_heads > 0 && e % num_heads == 0, op, ": num_heads (", num_heads, ") must divide the width E = ", e);
  const int64_t d = e / num_heads, batch = qkv.shape()[time_major ? 1 : 0], t = qkv.shape()[time_major ? 0 : 1];
  kernels::AttentionShape a;
  a.heads = batch * num_heads;
  a.t = a.s = t;
  a.d = a.dv = d;
  a.scale = float(1.0 / std::sqrt(double(d)));
  a.causal = is_causal;
  a.bf16_tiles = use_bf16_tiles(t, false);
  // Head h of batch row b in a [B, T, W] tensor starts at b T W + h d, rows W apart; in [T, B, W]
  // at b W + h d, rows B W apart.
  auto heads_of = [&](int64_t width) {
    return kernels::AttentionLayout{num_heads, time_major ? width : t * width, d, time_major ? batch * width : width};
  };
  a.q_layout = a.k_layout = a.v_layout = heads_of(3 * e);
  a.out_layout = heads_of(e);
  Tensor x = qkv.contiguous();
  Shape out_shape = qkv.shape();
  out_shape[2] = e;
  Tensor out = Tensor::empty(out_shape), lse = Tensor::empty({a.heads, t});
  const float* xp = x.data<float>();
  if (a.heads * t > 0) kernels::attention_forward(a, xp, xp + e, xp + 2 * e, out.data<float>(), lse.data<float>());
  if (needs_grad({qkv})) {
    SavedTensor sx(x, op), so(out, op);
    record(op, out, {qkv}, [=](const Tensor& g) {
      Tensor gp = g.contiguous(), dx = Tensor::empty(sx.get().shape());
      const float* xs = sx.get().data<float>();
      float* dxp = dx.data<float>();
      if (a.heads * t > 0)  // writes every element of dx: each head's rows of q, k and v
        kernels::attention_backward(a, xs, xs + e, xs + 2 * e, so.get().data<float>(), lse.data<float>(),
                                    gp.data<float>(), dxp, dxp + e, dxp + 2 * e);
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace nabla
