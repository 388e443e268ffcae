#include "nabla/ops/nn_functional.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/dropout.h"
#include "nabla/kernels/embedding.h"
#include "nabla/kernels/norm.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/op_utils.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
  NABLA_PROFILE_OP("embedding");
  detail::check_index(indices, "embedding", "indices");
  detail::check_f32(weight, "embedding", "weight");
  NABLA_CHECK(weight.dim() == 2, "embedding: weight must be [num_embeddings, embedding_dim], got ", weight.shape());
  const int64_t num = weight.shape()[0], width = weight.shape()[1];
  if (padding_idx && *padding_idx < 0) padding_idx = *padding_idx + num;
  Tensor idx = indices.to(DType::i64).contiguous();
  const int64_t* ip = idx.data<int64_t>();
  const int64_t count = idx.numel();
  for (int64_t i = 0; i < count; ++i)
    NABLA_CHECK(ip[i] >= 0 && ip[i] < num, "embedding: index ", ip[i], " at position ", i,
                " is out of range for a table of ", num, " rows; check the vocabulary size");
  Tensor w = weight.contiguous();
  Shape shape = indices.shape();
  shape.push_back(width);
  Tensor out = Tensor::empty(shape);
  kernels::embedding_forward(w.data<float>(), ip, count, width, out.data<float>());
  if (needs_grad({weight})) {
    const int64_t pad = padding_idx.value_or(-1);
    record("embedding", out, {weight}, [idx, num, width, pad](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dw = zeros({num, width});
      kernels::embedding_backward(gp.data<float>(), idx.data<int64_t>(), idx.numel(), width, pad, dw.data<float>());
      return std::vector<Tensor>{dw};
    });
  }
  return out;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  NABLA_PROFILE_OP("dropout");
  detail::check_f32(x, "dropout");
  NABLA_CHECK(p >= 0 && p <= 1, "dropout: probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return mul(x, 0.0);
  // One draw keys the whole mask; a u8 mask is a quarter of a float one to keep for backward.
  const uint64_t key = gen.next_u64();
  const auto threshold = uint32_t(std::min(std::ldexp(1.0 - p, 32), 4294967295.0));
  const float scale = float(1.0 / (1 - p));
  Tensor xp = x.contiguous();
  Tensor out = Tensor::empty(x.shape()), mask = Tensor::empty(x.shape(), DType::u8);
  kernels::dropout_forward(xp.data<float>(), out.data<float>(), mask.data<uint8_t>(), x.numel(), key, threshold, scale);
  if (needs_grad({x})) {
    record("dropout", out, {x}, [mask, scale](const Tensor& g) {
      Tensor gp = g.contiguous(), dx = Tensor::empty(g.shape());
      kernels::dropout_backward(gp.data<float>(), mask.data<uint8_t>(), dx.data<float>(), g.numel(), scale);
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  NABLA_PROFILE_OP("layer_norm");
  detail::check_f32(x, "layer_norm");
  const int k = int(normalized_shape.size());
  NABLA_CHECK(k >= 1 && k <= x.dim(), "layer_norm: normalized_shape has ", k, " dims but the input shape is ",
              x.shape());
  int64_t n = 1;
  for (int i = 0; i < k; ++i) {
    NABLA_CHECK(x.shape()[x.dim() - k + i] == normalized_shape[i], "layer_norm: input shape ", x.shape(),
                " does not end in normalized_shape ", Shape(normalized_shape));
    n *= normalized_shape[i];
  }
  for (const Tensor* p : {&weight, &bias})
    if (p->defined()) {
      detail::check_f32(*p, "layer_norm", p == &weight ? "weight" : "bias");
      NABLA_CHECK(p->shape() == Shape(normalized_shape), "layer_norm: ", p == &weight ? "weight" : "bias", " shape ",
                  p->shape(), " must equal normalized_shape ", Shape(normalized_shape));
    }
  const int64_t rows = n ? x.numel() / n : 0;
  Tensor xp = x.contiguous();
  Tensor wp = weight.defined() ? weight.contiguous() : Tensor(), bp = bias.defined() ? bias.contiguous() : Tensor();
  Tensor out = Tensor::empty(x.shape()), mean = Tensor::empty({rows}), rstd = Tensor::empty({rows});
  kernels::layer_norm_forward(xp.data<float>(), detail::f32_or_null(wp), detail::f32_or_null(bp), out.data<float>(),
                              mean.data<float>(), rstd.data<float>(), rows, n, float(eps));
  if (needs_grad({x, weight, bias})) {
    SavedTensor sx(xp, "layer_norm"), sw(wp, "layer_norm");
    bool gw = weight.defined() && weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
    Shape wshape(normalized_shape);
    record("layer_norm", out, {x, weight, bias}, [=](const Tensor& g) {
      Tensor gp = g.contiguous();
      const Tensor &xs = sx.get(), &ws = sw.get();
      Tensor dx = Tensor::empty(xs.shape());
      Tensor dw = gw ? Tensor::empty(wshape) : Tensor(), db = gb ? Tensor::empty(wshape) : Tensor();
      kernels::layer_norm_backward(xs.data<float>(), detail::f32_or_null(ws), mean.data<float>(), rstd.data<float>(),
                                   gp.data<float>(), dx.data<float>(), gw ? dw.data<float>() : nullptr,
                                   gb ? db.data<float>() : nullptr, rows, n);
      return std::vector<Tensor>{dx, dw, db};
    });
  }
  return out;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  NABLA_PROFILE_OP("batch_norm");
  detail::check_f32(x, "batch_norm");
  NABLA_CHECK(x.dim() >= 2, "batch_norm: input must be [N, C, ...], got shape ", x.shape());
  const int64_t batch = x.shape()[0], channels = x.shape()[1],
                spatial = x.numel() / std::max<int64_t>(batch * channels, 1);
  for (const Tensor* p : {&running_mean, &running_var, &weight, &bias})
    if (p->defined())
      NABLA_CHECK(p->dtype() == DType::f32 && p->numel() == channels && p->dim() == 1,
                  "batch_norm: per-channel tensors "
                  "must be f32 of shape [",
                  channels, "], got ", p->shape(), " ", dtype_name(p->dtype()));
  NABLA_CHECK(training || (running_mean.defined() && running_var.defined()),
              "batch_norm: evaluation mode needs running_mean and running_var");
  const int64_t count = batch * spatial;
  NABLA_CHECK(!training || count > 1, "batch_norm: training needs more than one value per channel, got input shape ",
              x.shape(), "; use a larger batch or eval()");
  Tensor xp = x.contiguous();
  Tensor mean = Tensor::empty({channels}), rstd = Tensor::empty({channels});
  const kernels::BatchNormShape shape{batch, channels, spatial};
  if (training) {
    kernels::batch_norm_statistics(xp.data<float>(), shape, eps, momentum, mean.data<float>(), rstd.data<float>(),
                                   detail::f32_or_null(running_mean), detail::f32_or_null(running_var));
    if (running_mean.defined()) running_mean.storage()->bump_version();
    if (running_var.defined()) running_var.storage()->bump_version();
  } else {
    kernels::batch_norm_running_statistics(running_mean.data<float>(), running_var.data<float>(), channels, eps,
                                           mean.data<float>(), rstd.data<float>());
  }
  Tensor out = Tensor::empty(x.shape());
  Tensor wkeep = weight.defined() ? weight.contiguous() : Tensor(),
         bkeep = bias.defined() ? bias.contiguous() : Tensor();
  kernels::batch_norm_forward(xp.data<float>(), shape, mean.data<float>(), rstd.data<float>(),
                              detail::f32_or_null(wkeep), detail::f32_or_null(bkeep), out.data<float>());
  if (needs_grad({x, weight, bias})) {
    SavedTensor sx(xp, "batch_norm");
    bool gw = weight.defined() && weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
    record("batch_norm", out, {x, weight, bias}, [=](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dx = Tensor::empty(xp.shape()), dw = Tensor::empty({channels}), db = Tensor::empty({channels});
      kernels::batch_norm_backward(sx.get().data<float>(), gp.data<float>(), shape, mean.data<float>(),
                                   rstd.data<float>(), detail::f32_or_null(wkeep), training, dx.data<float>(),
                                   dw.data<float>(), db.data<float>());
      return std::vector<Tensor>{dx, gw ? dw : Tensor(), gb ? db : Tensor()};
    });
  }
  return out;
}

}  // namespace nabla
