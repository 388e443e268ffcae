#include "nabla/kernels/conv.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "nabla/core/allocator.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/dnnl_context.h"
#include "nabla/kernels/matmul.h"
#include "nabla/kernels/parallel.h"

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

// oneDNN's direct backward-weights pads the input channels to its 8-wide block, so with one or
// two channels (a network's first layer) most of its work is on zeros. Here the input is unfolded
// (im2col, [N, Ho*Wo, C*kh*kw]) and dW[n] = dy[n] @ cols[n] runs as one batched GEMM, summed over
// the batch. Measured at one thread, the two interleaved: 1.9-3.4x oneDNN's speed with one
// channel (32x1x28x28 -> 32, 3x3; 64x1x32x32 -> 6, 5x5), 1.1-2.3x with two, but 0.5-0.9x with
// three to six (LeNet's 64x6x14x14 -> 16, 5x5: 0.48x), where oneDNN's blocking pays.
bool few_input_channels(const ConvShape& s) { return s.groups == 1 && s.c <= 2; }

void backward_weights_unfolded(const ConvShape& s, const float* x, const float* dy, float* dweight, float* dbias) {
  const int64_t positions = s.ho * s.wo, taps = s.c * s.kh * s.kw;
  // cols[n][tap][position]: each row is one shifted copy of an input plane, written contiguously.
  PooledBuffer<float> cols(size_t(s.n * taps * positions)), partial(size_t(s.n * s.o * taps));
#pragma omp parallel for collapse(2) if (s.n * positions * taps > kParallelGrain) schedule(static)
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t tap = 0; tap < taps; ++tap) {
      const int64_t c = tap / (s.kh * s.kw), i = tap / s.kw % s.kh, j = tap % s.kw;
      const float* plane = x + (n * s.c + c) * s.h * s.w;
      float* col = cols.data() + (n * taps + tap) * positions;
      // Output columns [lo, hi) read inside the row (ix = ox * sw + shift); the rest is padding.
      const int64_t shift = j * s.dw - s.pw;
      const int64_t lo = std::clamp<int64_t>((-shift + s.sw - 1) / s.sw, 0, s.wo);
      const int64_t hi = std::clamp<int64_t>((s.w - shift + s.sw - 1) / s.sw, lo, s.wo);
      for (int64_t oy = 0; oy < s.ho; ++oy, col += s.wo) {
        const int64_t iy = oy * s.sh - s.ph + i * s.dh;
        if (iy < 0 || iy >= s.h) {
          std::fill(col, col + s.wo, 0.0f);
          continue;
        }
        const float* row = plane + iy * s.w;
        std::fill(col, col + lo, 0.0f);
        if (s.sw == 1)
          std::copy_n(row + lo + shift, hi - lo, col + lo);
        else
          for (int64_t ox = lo; ox < hi; ++ox) col[ox] = row[ox * s.sw + shift];
        std::fill(col + hi, col + s.wo, 0.0f);
      }
    }
  const MatrixOperand a{dy, DType::f32, s.n, s.o * positions, positions, 1};
  const MatrixOperand b{cols.data(), DType::f32, s.n, taps * positions, 1, positions};
  matmul(a, b, partial.data(), s.n, s.o, positions, taps);
#pragma omp parallel for if (s.o * s.n * positions > kParallelGrain) schedule(static)
  for (int64_t o = 0; o < s.o; ++o) {
    for (int64_t t = 0; t < taps; ++t) {
      float sum = 0;
      for (int64_t n = 0; n < s.n; ++n) sum += partial.data()[(n * s.o + o) * taps + t];
      dweight[o * taps + t] = sum;
    }
    float bias_sum = 0;
    for (int64_t n = 0; n < s.n; ++n) {
      const float* row = dy + (n * s.o + o) * positions;
#pragma omp simd reduction(+ : bias_sum)
      for (int64_t p = 0; p < positions; ++p) bias_sum += row[p];
    }
    dbias[o] = bias_sum;
  }
}

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias, float* y) {
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
  p.forward_primitive.execute(dnnl_stream(), {{DNNL_ARG_SRC, mx}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, my.primitive_side}});
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
    p.backward_weights = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, any.x, any.weight, p.bias, any.y,
                                                 strides(s), dilates(s), pad_l(s), pad_r(s)),
        dnnl_engine(), p.forward);
    p.backward_weights_primitive = dnnl::convolution_backward_weights(p.backward_weights);
    p.has_backward_weights = true;
  }
}

}  // namespace

void conv2d_backward(const ConvShape& s, const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, float* dbias) {
  const bool unfolded_weights = dweight && few_input_channels(s);
  Primitives& p = primitives(s);
  ensure_backward_primitives(s, p, dx != nullptr, dweight && !unfolded_weights);
  LayoutCopies copies;
  std::optional<memory> blocked_dy;  // reordered once when both primitives read the same layout
  if (dx) {
    memory mw = copies.input(p.weight, p.backward_data.weights_desc(), weight);
    blocked_dy = copies.input(p.y, p.backward_data.diff_dst_desc(), dy);
    OutputMemory mdx = output_memory(copies, p.x, p.backward_data.diff_src_desc(), dx);
    p.backward_data_primitive.execute(dnnl_stream(), {{DNNL_ARG_DIFF_DST, *blocked_dy}, {DNNL_ARG_WEIGHTS, mw},
                                                      {DNNL_ARG_DIFF_SRC, mdx.primitive_side}});
    mdx.finish();
    dnnl_stream().wait();
    profiler::add_flops(pass_flops(s));
  }
  if (!dweight) return;
  std::unique_ptr<float[]> scratch_bias;
  if (!dbias) {
    scratch_bias.reset(new float[s.o]);
    dbias = scratch_bias.get();
  }
  if (unfolded_weights) return backward_weights_unfolded(s, x, dy, dweight, dbias);
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
