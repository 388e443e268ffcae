// Element-wise loops. Contiguous inputs run one flat, vectorisable, thread-split loop;
// broadcast/strided inputs run an outer odometer over coalesced dims with a tight inner loop.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "nabla/core/tensor.h"
#include "nabla/core/views.h"
#include "nabla/kernels/parallel.h"
#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {

// Outputs this large cannot stay in cache alongside their inputs, so they are written with
// non-temporal stores (no read-for-ownership of the destination): 15-25% faster measured.
constexpr int64_t kStreamingBytes = int64_t(8) << 20;
// Streaming works on blocks of 32 floats: computed into a register-sized buffer and stored
// straight to memory. Larger L1 chunks cost an extra pass (measured 45 vs 60 GB/s on add).
constexpr int64_t kStreamChunk = 32;

// Copies one block to its destination, streaming when the block is whole and aligned.
inline void store_chunk(float* dst, const float* chunk, int64_t len) {
#ifdef NABLA_AVX2
  if (len == kStreamChunk && reinterpret_cast<uintptr_t>(dst) % 32 == 0) {
    for (int64_t i = 0; i < len; i += 8) _mm256_stream_ps(dst + i, _mm256_load_ps(chunk + i));
    return;
  }
#endif
  std::memcpy(dst, chunk, size_t(len) * sizeof(float));
}

#ifdef NABLA_AVX2
// The explicit vector bodies below are written once over `auto` arguments (operators,
// vec::fmadd, vec::splat) and run at the build's widest vector.
using vec::kWideLanes;
using vec::WideFloats;
inline WideFloats load_wide(const float* p) { return vec::load<WideFloats>(p); }
#endif

// Runs fill(begin, length, chunk) over [0, n) in 32-float blocks, each thread over one contiguous
// range, streaming each block to out.
template <typename Fill>
void streamed(float* out, int64_t n, Fill fill) {
  const int64_t chunks = (n + kStreamChunk - 1) / kStreamChunk;
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t per = (chunks + threads - 1) / threads;
    const int64_t first = t * per, last = std::min(chunks, first + per);
    for (int64_t c = first; c < last; ++c) {
      alignas(64) float chunk[kStreamChunk];
      const int64_t begin = c * kStreamChunk, len = std::min(kStreamChunk, n - begin);
      if (len == kStreamChunk) {  // a compile-time length keeps the block in registers
        fill(begin, std::integral_constant<int64_t, kStreamChunk>{}, chunk);
      } else {
        fill(begin, len, chunk);
      }
      store_chunk(out + begin, chunk, len);
    }
  }
#ifdef NABLA_AVX2
  _mm_sfence();
#endif
}

// y[i] = f(x[i]) over n contiguous floats.
template <typename F>
void map_unary(const float* x, float* y, int64_t n, F f) {
  if (n <= kParallelGrain) {  // `omp parallel if (false)` would still enter the OpenMP runtime
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
    return;
  }
  if (n * 4 >= kStreamingBytes) {
    streamed(y, n, [&](int64_t begin, auto len, float* chunk) {
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) chunk[i] = f(x[begin + i]);
    });
    return;
  }
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// The same with an explicit vector body fv (generic over WideFloats) for functions the compiler
// cannot vectorise (exp...).
template <typename F, typename V>
void map_unary_vec(const float* x, float* y, int64_t n, F f, [[maybe_unused]] V fv) {
#ifdef NABLA_AVX2
  if (n * 4 >= kStreamingBytes) {
    streamed(y, n, [&](int64_t begin, auto len, float* chunk) {
      int64_t i = 0;
      for (; i + kWideLanes <= len; i += kWideLanes) vec::store(chunk + i, fv(load_wide(x + begin + i)));
      for (; i < len; ++i) chunk[i] = f(x[begin + i]);
    });
    return;
  }
  const int64_t blocks = n / kWideLanes;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) vec::store(y + b * kWideLanes, fv(load_wide(x + b * kWideLanes)));
  for (int64_t i = blocks * kWideLanes; i < n; ++i) y[i] = f(x[i]);
#else
  map_unary(x, y, n, f);
#endif
}

// out[i] = f(a[i], b[i]) over n contiguous floats (also used by backward rules).
template <typename F>
void map_binary(const float* a, const float* b, float* out, int64_t n, F f) {
  if (n <= kParallelGrain) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
    return;
  }
  if (n * 4 >= kStreamingBytes) {
    streamed(out, n, [&](int64_t begin, auto len, float* chunk) {
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) chunk[i] = f(a[begin + i], b[begin + i]);
    });
    return;
  }
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
}

// The same with an explicit vector body fv(a, b) (generic over WideFloats) for what the compiler
// cannot vectorise (backward rules through tanh, erf, exp).
template <typename F, typename V>
void map_binary_vec(const float* a, const float* b, float* out, int64_t n, F f, [[maybe_unused]] V fv) {
#ifdef NABLA_AVX2
  if (n * 4 >= kStreamingBytes) {
    streamed(out, n, [&](int64_t begin, auto len, float* chunk) {
      int64_t i = 0;
      for (; i + kWideLanes <= len; i += kWideLanes)
        vec::store(chunk + i, fv(load_wide(a + begin + i), load_wide(b + begin + i)));
      for (; i < len; ++i) chunk[i] = f(a[begin + i], b[begin + i]);
    });
    return;
  }
  const int64_t blocks = n / kWideLanes;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t k = 0; k < blocks; ++k)
    vec::store(out + k * kWideLanes, fv(load_wide(a + k * kWideLanes), load_wide(b + k * kWideLanes)));
  for (int64_t i = blocks * kWideLanes; i < n; ++i) out[i] = f(a[i], b[i]);
#else
  map_binary(a, b, out, n, f);
#endif
}

// out = f(a, b) where a and b are views already expanded to out's shape (zero strides where
// broadcast) and out is contiguous. Types may differ (comparisons write bool).
template <typename A, typename B, typename O, typename F>
void map_binary_strided(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  O* po = out.data<O>();
  const int64_t n = out.numel();
  if (n == 0) return;
  if (a.is_contiguous() && b.is_contiguous()) {
    if (n <= kParallelGrain) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
      return;
    }
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    return;
  }
  Shape shape = out.shape(), sa = a.strides(), sb = b.strides(), so = out.strides();
  views::coalesce_dims(shape, {&sa, &sb, &so});
  const int rank = shape.size();
  const int64_t inner = shape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1];
  const int64_t outer = n / inner;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    int64_t rem = o, oa = 0, ob = 0;
    for (int d = rank - 2; d >= 0; --d) {
      int64_t i = rem % shape[d];
      rem /= shape[d];
      oa += i * sa[d];
      ob += i * sb[d];
    }
    const A* ra = pa + oa;
    const B* rb = pb + ob;
    O* ro = po + o * inner;
    // Specialised stride patterns let the compiler vectorise the common broadcasts.
    if (ia == 1 && ib == 1) {
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) ro[i] = f(ra[i], rb[i]);
    } else if (ia == 1 && ib == 0) {
      const B vb = rb[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) ro[i] = f(ra[i], vb);
    } else if (ia == 0 && ib == 1) {
      const A va = ra[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) ro[i] = f(va, rb[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) ro[i] = f(ra[i * ia], rb[i * ib]);
    }
  }
}

// y[i] += a * x[i] over n contiguous floats (Tensor::add_).
void axpy(float a, const float* x, float* y, int64_t n);

// a + b for f32 tensors (broadcasting, any strides) into a fresh tensor, without autograd: how the
// engine sums the gradients that reach one tensor along several paths.
Tensor add(const Tensor& a, const Tensor& b);

}  // namespace nabla::kernels
