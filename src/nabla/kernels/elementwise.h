// Element-wise loops. Contiguous inputs run one flat, vectorisable, thread-split loop;
// broadcast/strided inputs run an outer odometer over coalesced dims with a tight inner loop.
#pragma once
#include <omp.h>

#include "nabla/core/copy.h"
#include "nabla/core/tensor.h"
#include "nabla/kernels/parallel.h"
#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {

// y[i] = f(x[i]) over n contiguous floats.
template <typename F>
void map_unary(const float* x, float* y, int64_t n, F f) {
  if (n <= kParallelGrain) {  // `omp parallel if (false)` would still enter the OpenMP runtime
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
    return;
  }
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// The same with an explicit 8-lane AVX2 body for functions the compiler cannot vectorise (exp...).
template <typename F, typename V>
void map_unary_vec(const float* x, float* y, int64_t n, F f, [[maybe_unused]] V fv) {
#ifdef NABLA_AVX2
  const int64_t blocks = n / 8;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) _mm256_storeu_ps(y + b * 8, fv(_mm256_loadu_ps(x + b * 8)));
  for (int64_t i = blocks * 8; i < n; ++i) y[i] = f(x[i]);
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
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
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
  coalesce_dims(shape, {&sa, &sb, &so});
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

}  // namespace nabla::kernels
