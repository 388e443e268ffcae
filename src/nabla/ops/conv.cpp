#include "nabla/ops/conv.h"

#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/conv.h"
#include "nabla/kernels/pool.h"
#include "nabla/ops/autocast.h"
#include "nabla/ops/op_utils.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

void check_image(const Tensor& x, const char* op) {
  detail::check_f32(x, op);
  NABLA_CHECK(x.dim() == 4, op, ": input must be [N, C, H, W], got shape ", x.shape(),
              x.dim() == 3 ? "; add a batch dimension with unsqueeze(0)" : "");
}

int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t dilation, bool ceil_mode) {
  int64_t span = in + 2 * p - dilation * (k - 1) - 1;
  if (span < 0) return 0;  // the window does not fit (and C++ division would round toward zero)
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;  // the last window must start inside the input
  return out;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  NABLA_PROFILE_OP("conv2d");
  check_image(x, "conv2d");
  detail::check_f32(weight, "conv2d", "weight");
  NABLA_CHECK(weight.dim() == 4, "conv2d: weight must be [out_channels, in_channels/groups, kh, kw], got ",
              weight.shape());
  NABLA_CHECK(o.groups >= 1 && x.shape()[1] % o.groups == 0 && weight.shape()[0] % o.groups == 0,
              "conv2d: groups = ", o.groups, " must divide input channels ", x.shape()[1], " and output channels ",
              weight.shape()[0]);
  NABLA_CHECK(weight.shape()[1] * o.groups == x.shape()[1], "conv2d: weight ", weight.shape(), " expects ",
              weight.shape()[1] * o.groups, " input channels, the input ", x.shape(), " has ", x.shape()[1]);
  NABLA_CHECK(o.stride[0] > 0 && o.stride[1] > 0 && o.dilation[0] > 0 && o.dilation[1] > 0 && o.padding[0] >= 0 &&
                  o.padding[1] >= 0,
              "conv2d: stride and dilation must be positive and padding non-negative");
  if (bias.defined()) {
    detail::check_f32(bias, "conv2d", "bias");
    NABLA_CHECK(bias.dim() == 1 && bias.shape()[0] == weight.shape()[0], "conv2d: bias must be [", weight.shape()[0],
                "], got ", bias.shape());
  }
  kernels::ConvShape s{x.shape()[0],
                       x.shape()[1],
                       x.shape()[2],
                       x.shape()[3],
                       weight.shape()[0],
                       weight.shape()[2],
                       weight.shape()[3],
                       o.stride[0],
                       o.stride[1],
                       o.padding[0],
                       o.padding[1],
                       o.dilation[0],
                       o.dilation[1],
                       o.groups,
                       0,
                       0};
  s.ho = pooled_size(s.h, s.kh, s.sh, s.ph, s.dh, false);
  s.wo = pooled_size(s.w, s.kw, s.sw, s.pw, s.dw, false);
  NABLA_CHECK(s.ho > 0 && s.wo > 0, "conv2d: kernel ", s.kh, "x", s.kw, " (dilation ", s.dh, "x", s.dw,
              ") is larger than the padded input ", s.h + 2 * s.ph, "x", s.w + 2 * s.pw);
  Tensor xp = x.contiguous(), wp = weight.contiguous(), bp = bias.defined() ? bias.contiguous() : Tensor();
  // bf16 autocast: the convolution kernels take f32, so bf16 is emulated (inputs rounded to its
  // precision, f32 accumulation) on every CPU.
  const bool low_precision = autocast_dtype() == DType::bf16;
  if (low_precision) {
    xp = detail::round_to_bf16(xp);
    wp = detail::round_to_bf16(wp);
  }
  Tensor out = Tensor::empty({s.n, s.o, s.ho, s.wo});
  if (s.n > 0)
    kernels::conv2d_forward(s, xp.data<float>(), wp.data<float>(), detail::f32_or_null(bp), out.data<float>());
  if (needs_grad({x, weight, bias})) {
    SavedTensor sx(xp, "conv2d"), sw(wp, "conv2d");
    bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
    Shape wshape = weight.shape();
    record("conv2d", out, {x, weight, bias}, [=](const Tensor& g) {
      Tensor gp = low_precision ? detail::round_to_bf16(g) : g.contiguous();
      // The input gradient is skipped when nobody needs it (the first layer): oneDNN's
      // backward-data for one input channel is slow, and it would be thrown away.
      Tensor dx = gx ? Tensor::empty({s.n, s.c, s.h, s.w}) : Tensor();
      Tensor dw = gw || gb ? Tensor::empty(wshape) : Tensor(), db = gw || gb ? Tensor::empty({s.o}) : Tensor();
      kernels::conv2d_backward(s, sx.get().data<float>(), sw.get().data<float>(), gp.data<float>(),
                               detail::f32_or_null(dx), detail::f32_or_null(dw), detail::f32_or_null(db));
      return std::vector<Tensor>{dx, gw ? dw : Tensor(), gb ? db : Tensor()};
    });
  }
  return out;
}

namespace {

kernels::PoolShape pool_shape(const Tensor& x, const Pool2dOptions& o, const char* op) {
  check_image(x, op);
  const int64_t kh = o.kernel_size[0], kw = o.kernel_size[1];
  const int64_t sh = o.stride[0] ? o.stride[0] : kh, sw = o.stride[1] ? o.stride[1] : kw;
  NABLA_CHECK(kh > 0 && kw > 0 && sh > 0 && sw > 0, op, ": kernel size and stride must be positive");
  NABLA_CHECK(o.padding[0] >= 0 && o.padding[1] >= 0 && o.padding[0] * 2 <= kh && o.padding[1] * 2 <= kw, op,
              ": padding must be at most half the kernel size, got padding ", o.padding[0], "x", o.padding[1],
              " for kernel ", kh, "x", kw);
  kernels::PoolShape s{
      x.shape()[0] * x.shape()[1], x.shape()[2], x.shape()[3], 0, 0, kh, kw, sh, sw, o.padding[0], o.padding[1]};
  s.ho = pooled_size(s.h, kh, sh, s.ph, 1, o.ceil_mode);
  s.wo = pooled_size(s.w, kw, sw, s.pw, 1, o.ceil_mode);
  NABLA_CHECK(s.ho > 0 && s.wo > 0, op, ": kernel ", kh, "x", kw, " does not fit the input ", x.shape());
  return s;
}

Tensor max_pool2d_op(const Tensor& x, const Pool2dOptions& options, bool relu, const char* op) {
  kernels::PoolShape s = pool_shape(x, options, op);
  Tensor xp = x.contiguous();
  Tensor out = Tensor::empty({x.shape()[0], x.shape()[1], s.ho, s.wo});
  Tensor argmax = Tensor::empty(out.shape(), DType::i32);
  kernels::max_pool2d_forward(s, xp.data<float>(), out.data<float>(), argmax.data<int32_t>(), relu);
  if (needs_grad({x})) {
    Shape in = x.shape();
    record(op, out, {x}, [s, argmax, in](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dx = Tensor::empty(in);
      kernels::max_pool2d_backward(s, gp.data<float>(), argmax.data<int32_t>(), dx.data<float>());
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options) {
  NABLA_PROFILE_OP("max_pool2d");
  return max_pool2d_op(x, options, false, "max_pool2d");
}

Tensor relu_max_pool2d(const Tensor& x, const Pool2dOptions& options) {
  NABLA_PROFILE_OP("relu_max_pool2d");
  return max_pool2d_op(x, options, true, "relu_max_pool2d");
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options) {
  NABLA_PROFILE_OP("avg_pool2d");
  kernels::PoolShape s = pool_shape(x, options, "avg_pool2d");
  Tensor xp = x.contiguous();
  Tensor out = Tensor::empty({x.shape()[0], x.shape()[1], s.ho, s.wo});
  const bool include_pad = options.count_include_pad;
  kernels::avg_pool2d_forward(s, xp.data<float>(), out.data<float>(), include_pad);
  if (needs_grad({x})) {
    Shape in = x.shape();
    record("avg_pool2d", out, {x}, [s, in, include_pad](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dx = Tensor::empty(in);
      kernels::avg_pool2d_backward(s, gp.data<float>(), dx.data<float>(), include_pad);
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size) {
  NABLA_PROFILE_OP("adaptive_avg_pool2d");
  check_image(x, "adaptive_avg_pool2d");
  const int64_t ho = output_size[0], wo = output_size[1];
  NABLA_CHECK(ho > 0 && wo > 0, "adaptive_avg_pool2d: output size must be positive, got ", ho, "x", wo);
  const int64_t planes = x.shape()[0] * x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  Tensor xp = x.contiguous();
  Tensor out = Tensor::empty({x.shape()[0], x.shape()[1], ho, wo});
  kernels::adaptive_avg_pool2d_forward(planes, h, w, ho, wo, xp.data<float>(), out.data<float>());
  if (needs_grad({x})) {
    Shape in = x.shape();
    record("adaptive_avg_pool2d", out, {x}, [=](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dx = Tensor::empty(in);
      kernels::adaptive_avg_pool2d_backward(planes, h, w, ho, wo, gp.data<float>(), dx.data<float>());
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace nabla
