#include "nabla/kernels/conv.h"

#include <mutex>
#include <unordered_map>

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
  return {(s.ho - 1) * s.sh + (s.kh - 1) * s.dh + 1 - s.h - s.ph, (s.wo - 1) * s.sw + (s.kw - 1) * s.dw + 1 - s.w - s.pw};
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

// Wraps `data` (in `plain` layout) for a primitive wanting `wanted`; reorders if they differ.
memory input_memory(const memory::desc& plain, const memory::desc& wanted, const void* data) {
  auto& engine = dnnl_engine();
  memory user(plain, engine, const_cast<void*>(data));
  if (plain == wanted) return user;
  memory converted(wanted, engine);
  dnnl::reorder(user, converted).execute(dnnl_stream(), user, converted);
  return converted;
}

// Output memory in the primitive's layout; `finish` copies it back to the caller's plain buffer.
struct OutputMemory {
  memory primitive_side, user_side;
  void finish() {
    if (primitive_side.get() != user_side.get())
      dnnl::reorder(primitive_side, user_side).execute(dnnl_stream(), primitive_side, user_side);
  }
};
OutputMemory output_memory(const memory::desc& plain, const memory::desc& wanted, void* data) {
  auto& engine = dnnl_engine();
  memory user(plain, engine, data);
  if (plain == wanted) return {user, user};
  return {memory(wanted, engine), user};
}

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias, float* y) {
  Primitives& p = primitives(s);
  std::unique_ptr<float[]> zero_bias;
  if (!bias) {
    zero_bias.reset(new float[s.o]());
    bias = zero_bias.get();
  }
  memory mx = input_memory(p.x, p.forward.src_desc(), x);
  memory mw = input_memory(p.weight, p.forward.weights_desc(), weight);
  memory mb(p.bias, dnnl_engine(), const_cast<float*>(bias));
  OutputMemory my = output_memory(p.y, p.forward.dst_desc(), y);
  p.forward_primitive.execute(dnnl_stream(), {{DNNL_ARG_SRC, mx}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, my.primitive_side}});
  my.finish();
  dnnl_stream().wait();
}

void conv2d_backward_data(const ConvShape& s, const float* weight, const float* dy, float* dx) {
  Primitives& p = primitives(s);
  {
    std::lock_guard lock(cache().mutex);
    if (!p.has_backward_data) {
      const AnyLayouts any = any_layouts(s);
      p.backward_data = dnnl::convolution_backward_data::primitive_desc(
          dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, any.x, any.weight, any.y, strides(s),
                                                dilates(s), pad_l(s), pad_r(s)),
          dnnl_engine(), p.forward);
      p.backward_data_primitive = dnnl::convolution_backward_data(p.backward_data);
      p.has_backward_data = true;
    }
  }
  memory mw = input_memory(p.weight, p.backward_data.weights_desc(), weight);
  memory mdy = input_memory(p.y, p.backward_data.diff_dst_desc(), dy);
  OutputMemory mdx = output_memory(p.x, p.backward_data.diff_src_desc(), dx);
  p.backward_data_primitive.execute(dnnl_stream(), {{DNNL_ARG_DIFF_DST, mdy}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DIFF_SRC, mdx.primitive_side}});
  mdx.finish();
  dnnl_stream().wait();
}

void conv2d_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dweight, float* dbias) {
  Primitives& p = primitives(s);
  {
    std::lock_guard lock(cache().mutex);
    if (!p.has_backward_weights) {
      const AnyLayouts any = any_layouts(s);
      p.backward_weights = dnnl::convolution_backward_weights::primitive_desc(
          dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, any.x, any.weight, p.bias, any.y,
                                                   strides(s), dilates(s), pad_l(s), pad_r(s)),
          dnnl_engine(), p.forward);
      p.backward_weights_primitive = dnnl::convolution_backward_weights(p.backward_weights);
      p.has_backward_weights = true;
    }
  }
  std::unique_ptr<float[]> scratch_bias;
  if (!dbias) {
    scratch_bias.reset(new float[s.o]);
    dbias = scratch_bias.get();
  }
  memory mx = input_memory(p.x, p.backward_weights.src_desc(), x);
  memory mdy = input_memory(p.y, p.backward_weights.diff_dst_desc(), dy);
  OutputMemory mdw = output_memory(p.weight, p.backward_weights.diff_weights_desc(), dweight);
  memory mdb(p.bias, dnnl_engine(), dbias);
  p.backward_weights_primitive.execute(dnnl_stream(), {{DNNL_ARG_SRC, mx},
                               {DNNL_ARG_DIFF_DST, mdy},
                               {DNNL_ARG_DIFF_WEIGHTS, mdw.primitive_side},
                               {DNNL_ARG_DIFF_BIAS, mdb}});
  mdw.finish();
  dnnl_stream().wait();
}

}  // namespace nabla::kernels
