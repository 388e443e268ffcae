#include "nabla/kernels/conv.h"

#include <mutex>
#include <optional>
#include <unordered_map>

#include "nabla/core/profiler.h"
#include "nabla/kernels/conv_direct.h"
#include "nabla/kernels/dnnl_context.h"

namespace nabla::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct ShapeHash {
  size_t operator()(const ConvShape& s) const {
    const int64_t* p = &s.n;
    size_t h = 1469598103934665603ULL;
    for (int i = 0; i < 16; ++i) h = (h ^ size_t(p[i])) * 1099511628211ULL;
    return h;
  }
};

struct Primitives {
  memory::desc x, weight, bias, y;  // the plain layouts callers hand us
  dnnl::convolution_forward::primitive_desc forward;
  dnnl::convolution_backward_data::primitive_desc backward_data;
  dnnl::convolution_backward_weights::primitive_desc backward_weights;
  dnnl::convolution_forward forward_primitive;
  dnnl::convolution_backward_data backward_data_primitive;
  dnnl::convolution_backward_weights backward_weights_primitive;
  bool has_backward_data = false, has_backward_weights = false;
};

struct Cache {
  std::mutex mutex;
  std::unordered_map<ConvShape, Primitives, ShapeHash> entries;
};
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

memory::dims strides(const ConvShape& s) { return {s.sh, s.sw}; }
memory::dims dilates(const ConvShape& s) { return {s.dh - 1, s.dw - 1}; }  // oneDNN counts gaps
memory::dims pad_l(const ConvShape& s) { return {s.ph, s.pw}; }
// Right padding that makes oneDNN's output size equal PyTorch's floor formula.
memory::dims pad_r(const ConvShape& s) {
  return {(s.ho - 1) * s.sh + (s.kh - 1) * s.dh + 1 - s.h - s.ph,
          (s.wo - 1) * s.sw + (s.kw - 1) * s.dw + 1 - s.w - s.pw};
}
memory::dims weight_dims(const ConvShape& s) {
  if (s.groups == 1) return {s.o, s.c, s.kh, s.kw};
  return {s.groups, s.o / s.groups, s.c / s.groups, s.kh, s.kw};
}

// Descriptors that let oneDNN choose its own (blocked) layouts for input, weight and output.
struct AnyLayouts {
  memory::desc x, weight, y;
};
AnyLayouts any_layouts(const ConvShape& s) {
  return {memory::desc({s.n, s.c, s.h, s.w}, dt::f32, tag::any), memory::desc(weight_dims(s), dt::f32, tag::any),
          memory::desc({s.n, s.o, s.ho, s.wo}, dt::f32, tag::any)};
}

Primitives& primitives(const ConvShape& s) {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  auto it = c.entries.find(s);
  if (it != c.entries.end()) return it->second;
  Primitives p;
  p.x = memory::desc({s.n, s.c, s.h, s.w}, dt::f32, tag::nchw);
  p.weight = memory::desc(weight_dims(s), dt::f32, s.groups == 1 ? tag::oihw : tag::goihw);
  p.bias = memory::desc({s.o}, dt::f32, tag::a);
  p.y = memory::desc({s.n, s.o, s.ho, s.wo}, dt::f32, tag::nchw);
  const AnyLayouts any = any_layouts(s);
  auto& engine = dnnl_engine();
  p.forward = dnnl::convolution_forward::primitive_desc(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, any.x,
                                      any.weight, p.bias, any.y, strides(s), dilates(s), pad_l(s), pad_r(s)),
      engine);
  p.forward_primitive = dnnl::convolution_forward(p.forward);
  return c.entries.emplace(s, std::move(p)).first->second;
}

// Output memory in the primitive's layout; `finish` copies it back to the caller's plain buffer.
struct OutputMemory {
  memory primitive_side, user_side;
  void finish() {
    if (primitive_side.get() != user_side.get())
      dnnl::reorder(primitive_side, user_side).execute(dnnl_stream(), primitive_side, user_side);
  }
};
OutputMemory output_memory(LayoutCopies& copies, const memory::desc& plain, const memory::desc& wanted, void* data) {
  memory user(plain, dnnl_engine(), data);
  if (plain == wanted) return {user, user};
  return {copies.make(wanted), user};
}

// Multiply-adds x 2 of one pass (forward, backward-data or backward-weights: the same count).
double pass_flops(const ConvShape& s) {
  return 2.0 * double(s.n) * double(s.o) * double(s.ho * s.wo) * double(s.c / s.groups) * double(s.kh * s.kw);
}

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias, float* y) {
  if (direct_conv_applies(s)) return direct_conv_forward(s, x, weight, bias, y);
  Primitives& p = primitives(s);
  LayoutCopies copies;
  std::unique_ptr<float[]> zero_bias;
  if (!bias) {
    zero_bias.reset(new float[s.o]());
    bias = zero_bias.get();
  }
  memory mx = copies.input(p.x, p.forward.src_desc(), x);
  memory mw = copies.input(p.weight, p.forward.weights_desc(), weight);
  memory mb(p.bias, dnnl_engine(), const_cast<float*>(bias));
  OutputMemory my = output_memory(copies, p.y, p.forward.dst_desc(), y);
  p.forward_primitive.execute(
      dnnl_stream(),
      {{DNNL_ARG_SRC, mx}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, my.primitive_side}});
  my.finish();
  dnnl_stream().wait();
  profiler::add_flops(pass_flops(s));
}

namespace {

void ensure_backward_primitives(const ConvShape& s, Primitives& p, bool data, bool weights) {
  std::lock_guard lock(cache().mutex);
  const AnyLayouts any = any_layouts(s);
  if (data && !p.has_backward_data) {
    p.backward_data = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, any.x, any.weight, any.y, strides(s),
                                              dilates(s), pad_l(s), pad_r(s)),
        dnnl_engine(), p.forward);
    p.backward_data_primitive = dnnl::convolution_backward_data(p.backward_data);
    p.has_backward_data = true;
  }
  if (weights && !p.has_backward_weights) {
    // With input channels not a multiple of 16, oneDNN 2.6's blocked weight-gradient kernel falls
    // back to AVX2 on 8-channel blocks; its channels-last kernel stays AVX-512 and measured 2-2.5x
    // faster (LeNet's 64x6x14x14 -> 16, 5x5: 180-195 vs 445-470 us; also 8, 12, 20, 24 channels).
    // Not for a first layer's one to four channels (strided, else the direct kernels take it):
    // there the blocked kernel has a first-layer form (one channel: 200-215 vs 315-330 us).
    const bool channels_last = s.c > 4 && s.c % 16 != 0;
    const memory::desc x = channels_last ? memory::desc({s.n, s.c, s.h, s.w}, dt::f32, tag::nhwc) : any.x;
    const memory::desc y = channels_last ? memory::desc({s.n, s.o, s.ho, s.wo}, dt::f32, tag::nhwc) : any.y;
    p.backward_weights = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, x, any.weight, p.bias, y,
                                                 strides(s), dilates(s), pad_l(s), pad_r(s)),
        dnnl_engine(), p.forward);
    p.backward_weights_primitive = dnnl::convolution_backward_weights(p.backward_weights);
    p.has_backward_weights = true;
  }
}

}  // namespace

void conv2d_backward(const ConvShape& s, const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, float* dbias) {
  const bool direct_weights = dweight && direct_conv_applies(s);
  Primitives& p = primitives(s);
  ensure_backward_primitives(s, p, dx != nullptr, dweight && !direct_weights);
  LayoutCopies copies;
  std::optional<memory> blocked_dy;  // reordered once when both primitives read the same layout
  if (dx) {
    memory mw = copies.input(p.weight, p.backward_data.weights_desc(), weight);
    blocked_dy = copies.input(p.y, p.backward_data.diff_dst_desc(), dy);
    OutputMemory mdx = output_memory(copies, p.x, p.backward_data.diff_src_desc(), dx);
    p.backward_data_primitive.execute(
        dnnl_stream(),
        {{DNNL_ARG_DIFF_DST, *blocked_dy}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DIFF_SRC, mdx.primitive_side}});
    mdx.finish();
    dnnl_stream().wait();
    profiler::add_flops(pass_flops(s));
  }
  if (!dweight) return;
  if (direct_weights) return direct_conv_backward_weights(s, x, dy, dweight, dbias);
  std::unique_ptr<float[]> scratch_bias;
  if (!dbias) {
    scratch_bias.reset(new float[s.o]);
    dbias = scratch_bias.get();
  }
  const memory::desc& dy_layout = p.backward_weights.diff_dst_desc();
  memory mdy = blocked_dy && blocked_dy->get_desc() == dy_layout ? *blocked_dy : copies.input(p.y, dy_layout, dy);
  memory mx = copies.input(p.x, p.backward_weights.src_desc(), x);
  OutputMemory mdw = output_memory(copies, p.weight, p.backward_weights.diff_weights_desc(), dweight);
  memory mdb(p.bias, dnnl_engine(), dbias);
  p.backward_weights_primitive.execute(dnnl_stream(), {{DNNL_ARG_SRC, mx},
                                                       {DNNL_ARG_DIFF_DST, mdy},
                                                       {DNNL_ARG_DIFF_WEIGHTS, mdw.primitive_side},
                                                       {DNNL_ARG_DIFF_BIAS, mdb}});
  mdw.finish();
  dnnl_stream().wait();
  profiler::add_flops(pass_flops(s));
}

}  // namespace nabla::kernels
