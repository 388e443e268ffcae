#include "nabla/kernels/matmul.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "nabla/core/allocator.h"
#include "nabla/core/error.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/dnnl_context.h"
#include "nabla/kernels/parallel.h"
#include "nabla/kernels/small_gemm.h"

namespace nabla::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct Key {
  int64_t v[15];
  bool operator==(const Key& o) const {
    for (int i = 0; i < 15; ++i)
      if (v[i] != o.v[i]) return false;
    return true;
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    size_t h = 1469598103934665603ULL;
    for (int64_t x : k.v) h = (h ^ size_t(x)) * 1099511628211ULL;
    return h;
  }
};

struct Cached {
  dnnl::matmul primitive;
  memory::desc a, b, c, bias, scratchpad;
};

struct Cache {
  std::mutex mutex;
  std::unordered_map<Key, Cached, KeyHash> entries;
  MatmulStats stats;
};
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

memory::data_type dnnl_type(DType t) { return t == DType::bf16 ? memory::data_type::bf16 : memory::data_type::f32; }

memory::desc operand_desc(const MatrixOperand& x, int64_t rows, int64_t cols) {
  // A single matrix gets its natural batch stride: a zero stride makes oneDNN see an odd
  // layout and fall back to its reference kernel (100x slower).
  int64_t batch_stride = x.batch == 1 ? std::max(x.row_stride * rows, x.col_stride * cols) : x.batch_stride;
  return memory::desc({x.batch, rows, cols}, dnnl_type(x.dtype), {batch_stride, x.row_stride, x.col_stride});
}

Cached make_primitive(const MatrixOperand& a, const MatrixOperand& b, int64_t batch, int64_t m, int64_t k, int64_t n,
                      bool accumulate, bool bias = false) {
  Cached entry;
  if (batch == 1) {  // plain 2-D descriptors: oneDNN's 2-D GEMM path is a few percent faster
    entry.a = memory::desc({m, k}, dnnl_type(a.dtype), {a.row_stride, a.col_stride});
    entry.b = memory::desc({k, n}, dnnl_type(b.dtype), {b.row_stride, b.col_stride});
    entry.c = memory::desc({m, n}, memory::data_type::f32, tag::ab);
  } else {
    entry.a = operand_desc(a, m, k);
    entry.b = operand_desc(b, k, n);
    entry.c = memory::desc({batch, m, n}, memory::data_type::f32, tag::abc);
  }
  dnnl::primitive_attr attr;
  // Our scratchpad, not oneDNN's: the fused kernels run cached primitives from inside their own
  // parallel loops, and a library scratchpad is shared by every primitive and only safe on the
  // thread that created it (GPT attention at 2 threads got NaN from the clash).
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  if (bias)
    entry.bias = batch == 1 ? memory::desc({1, n}, memory::data_type::f32, tag::ab)
                            : memory::desc({1, 1, n}, memory::data_type::f32, tag::abc);
  dnnl::matmul::primitive_desc pd(
      bias ? dnnl::matmul::desc(entry.a, entry.b, entry.bias, entry.c) : dnnl::matmul::desc(entry.a, entry.b, entry.c),
      attr, dnnl_engine());
  entry.primitive = dnnl::matmul(pd);
  entry.scratchpad = pd.scratchpad_desc();
  return entry;
}

// Widens a strided bf16 operand to a packed f32 one.
MatrixOperand widen(const MatrixOperand& x, int64_t rows, int64_t cols, std::optional<PooledBuffer<float>>& buffer) {
  float* dst = buffer.emplace(size_t(x.batch * rows * cols)).data();
  const bf16* src = static_cast<const bf16*>(x.data);
  for (int64_t p = 0; p < x.batch; ++p)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        dst[(p * rows + r) * cols + c] = src[p * x.batch_stride + r * x.row_stride + c * x.col_stride].to_float();
  return MatrixOperand{dst, DType::f32, x.batch, rows * cols, cols, 1};
}

// oneDNN's f32 GEMM runs at half speed when the operand it walks along k steps by a multiple of
// 4 KB (every row lands in the same L1 set): the weight gradient g^T x of a 1024-wide layer is the
// common case. Such an operand is copied into a buffer whose rows are 16 floats longer, which costs
// less than it saves (GPT small's MLP weight gradients: 67 -> 135 GFLOP/s, copy included).
constexpr int64_t kAliasingStride = 1024;  // elements
constexpr int64_t kRowPadding = 16;

bool walks_aliased_rows(int64_t k_stride, int64_t inner_stride, int64_t k, int64_t inner) {
  return inner_stride == 1 && k_stride % kAliasingStride == 0 && k >= 64 && k * inner >= (1 << 16);
}

// Copies k rows of `inner` contiguous floats into `rows` with a padded stride, and points the
// operand (its data and k stride) at the copy.
void pad_rows(const void*& data, int64_t& k_stride, int64_t k, int64_t inner,
              std::optional<PooledBuffer<float>>& rows) {
  int64_t stride = (inner + kRowPadding - 1) / kRowPadding * kRowPadding + kRowPadding;
  if (stride % kAliasingStride == 0) stride += kRowPadding;
  const float* src = static_cast<const float*>(data);
  float* dst = rows.emplace(size_t(k * stride)).data();
#pragma omp parallel for if (k * inner > (1 << 16)) schedule(static)
  for (int64_t q = 0; q < k; ++q) std::copy_n(src + q * k_stride, inner, dst + q * stride);
  data = dst;
  k_stride = stride;
}

// A walked along k in steps of exactly 2 KB (512 floats) is the same trap at half the strength: the
// weight gradient g^T x of a 512-wide output, e.g. an LSTM of 128. [512, 3200] x [3200, 128] at 2
// threads: 4.5 ms, 3.4-3.6 with A padded, 3.0-3.3 as C^T = B^T A^T, which costs a transpose of C
// instead of a copy of A. (1536-float steps measured no better swapped.) Not when B^T would walk
// aliased rows itself.
bool swap_avoids_aliasing(const MatrixOperand& a, const MatrixOperand& b, int64_t m, int64_t k) {
  const bool a_half_aliased = a.row_stride == 1 && a.col_stride == kAliasingStride / 2 && k >= 64 && k * m >= (1 << 16);
  const bool b_t_aliased = b.col_stride == 1 && b.row_stride % (kAliasingStride / 2) == 0;
  return a_half_aliased && !b_t_aliased;
}

MatrixOperand transpose_of(const MatrixOperand& x) {
  return {x.data, x.dtype, x.batch, x.batch_stride, x.col_stride, x.row_stride};
}

void add_to_rows(float* c, int64_t rows, int64_t n, const float* bias) {
#pragma omp parallel for if (rows * n > kParallelGrain) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) c[r * n + j] += bias[j];
}

}  // namespace

bool bf16_gemm_native() {
  static bool native = [] {
    try {
      MatrixOperand a{nullptr, DType::bf16, 1, 64, 8, 1}, b{nullptr, DType::bf16, 1, 64, 8, 1};
      make_primitive(a, b, 1, 8, 8, 8, false);
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return native;
}

void matmul(const MatrixOperand& a, const MatrixOperand& b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n,
            bool accumulate, const float* bias) {
  NABLA_CHECK(a.dtype == b.dtype, "matmul: operands have different dtypes (", dtype_name(a.dtype), " and ",
              dtype_name(b.dtype), "); convert one with .to()");
  Cache& cc = cache();
  if (m == 0 || n == 0 || batch == 0) return;
  if (a.dtype == DType::f32 && batch == 1) {
    const bool pad_a = walks_aliased_rows(a.col_stride, a.row_stride, k, m);
    const bool pad_b = walks_aliased_rows(b.row_stride, b.col_stride, k, n);
    if (!pad_a && !pad_b && swap_avoids_aliasing(a, b, m, k)) {
      PooledBuffer<float> c_t(size_t(n * m));
      matmul(transpose_of(b), transpose_of(a), c_t.data(), 1, n, k, m);
      const float* src = c_t.data();
#pragma omp parallel for if (m * n > kParallelGrain) schedule(static)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          c[i * n + j] = (accumulate ? c[i * n + j] : 0.0f) + src[j * m + i] + (bias ? bias[j] : 0.0f);
      return;
    }
    if (pad_a || pad_b) {
      std::optional<PooledBuffer<float>> a_rows, b_rows;
      MatrixOperand pa = a, pb = b;
      if (pad_a) pad_rows(pa.data, pa.col_stride, k, m, a_rows);
      if (pad_b) pad_rows(pb.data, pb.row_stride, k, n, b_rows);
      matmul(pa, pb, c, batch, m, k, n, accumulate, bias);
      return;
    }
  }
  profiler::add_flops(2.0 * double(batch) * double(m) * double(n) * double(k));
  if (a.dtype == DType::bf16 && !bf16_gemm_native()) {
    std::optional<PooledBuffer<float>> a_f32, b_f32;
    const MatrixOperand wa = widen(a, m, k, a_f32), wb = widen(b, k, n, b_f32);
    {
      std::lock_guard lock(cc.mutex);
      cc.stats.bf16_emulated++;
    }
    matmul(wa, wb, c, batch, m, k, n, accumulate, bias);
    return;
  }
  // Small products (a primitive call costs ~0.5 us, more than the arithmetic) and thin ones run
  // in plain loops.
  const bool small = m * n * k <= 32 * 32 * 32, thin = !small && k > 0 && fits_matrix_vector(a, b, batch, m);
  if (a.dtype == DType::f32 && (k == 0 || small || thin)) {
    {
      std::lock_guard lock(cc.mutex);
      cc.stats.calls++;
      cc.stats.inline_calls++;
    }
    if (thin) {
      matrix_vector(a, b, c, m, k, n, accumulate);
      if (bias) add_to_rows(c, m, n, bias);
      return;
    }
    for (int64_t p = 0; p < batch; ++p) {
      auto at = [p](const MatrixOperand& x) {
        const float* data = static_cast<const float*>(x.data) + (x.batch == 1 ? 0 : p * x.batch_stride);
        return MatrixOperand{data, x.dtype, 1, 0, x.row_stride, x.col_stride};
      };
      small_gemm(at(a), at(b), c + p * m * n, n, m, k, n, accumulate);
    }
    if (bias) add_to_rows(c, batch * m, n, bias);
    return;
  }
  Key key{{int64_t(a.dtype), a.batch, a.batch_stride, a.row_stride, a.col_stride, b.batch, b.batch_stride, b.row_stride,
           b.col_stride, batch, m, k, n, accumulate, bias != nullptr}};
  Cached* entry;
  {
    std::lock_guard lock(cc.mutex);
    cc.stats.calls++;
    auto it = cc.entries.find(key);
    if (it != cc.entries.end()) {
      cc.stats.primitive_cache_hits++;
      entry = &it->second;
    } else {
      entry = &cc.entries.emplace(key, make_primitive(a, b, batch, m, k, n, accumulate, bias != nullptr)).first->second;
    }
  }
  auto& engine = dnnl_engine();
  memory ma(entry->a, engine, const_cast<void*>(a.data));
  memory mb(entry->b, engine, const_cast<void*>(b.data));
  memory mc(entry->c, engine, c);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(entry->bias, engine, const_cast<float*>(bias)));
  std::optional<PooledBuffer<uint8_t>> scratch;
  if (const size_t bytes = entry->scratchpad.get_size()) {
    scratch.emplace(bytes);
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(entry->scratchpad, engine, scratch->data()));
  }
  entry->primitive.execute(dnnl_stream(), args);
  dnnl_stream().wait();
}

// The profiler's report line for GEMM: how often a call found its oneDNN primitive cached.
const bool kProfilerSection = profiler::add_report_section([] {
  const MatmulStats s = matmul_stats();
  const uint64_t dnnl_calls = s.calls - s.inline_calls;
  char line[200];
  std::snprintf(line, sizeof line,
                "matmul: %llu calls, %llu inline (small or matrix-vector), primitive cache hit rate %.1f%%\n",
                static_cast<unsigned long long>(s.calls), static_cast<unsigned long long>(s.inline_calls),
                dnnl_calls ? 100.0 * double(s.primitive_cache_hits) / double(dnnl_calls) : 0.0);
  return std::string(line);
});

MatmulStats matmul_stats() {
  std::lock_guard lock(cache().mutex);
  return cache().stats;
}

}  // namespace nabla::kernels
