#include "nabla/kernels/reduce.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nabla/kernels/parallel.h"

namespace nabla::kernels {

void sum_reduce(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner) {
  const int64_t total = outer * reduce * inner;
  if (inner == 1) {
#pragma omp parallel for if (total > kParallelGrain) schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = x + o * reduce;
      float acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t k = 0; k < reduce; ++k) acc += row[k];
      y[o] = acc;
    }
    return;
  }
  // Columns: accumulate whole rows so the inner loop is contiguous and vectorised.
#pragma omp parallel for collapse(2) if (total > kParallelGrain) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i0 = 0; i0 < inner; i0 += 256) {
      const int64_t i1 = std::min(inner, i0 + 256);
      float* out = y + o * inner;
      for (int64_t i = i0; i < i1; ++i) out[i] = 0;
      for (int64_t k = 0; k < reduce; ++k) {
        const float* row = x + (o * reduce + k) * inner;
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) out[i] += row[i];
      }
    }
  }
}

void squared_deviation_reduce(const float* x, const float* mean, float* y, int64_t outer, int64_t reduce,
                              int64_t inner) {
  const int64_t total = outer * reduce * inner;
#pragma omp parallel for if (total > kParallelGrain) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float m = mean[o * inner + i];
      const float* base = x + o * reduce * inner + i;
      float acc = 0;
      if (inner == 1) {
#pragma omp simd reduction(+ : acc)
        for (int64_t k = 0; k < reduce; ++k) acc += (base[k] - m) * (base[k] - m);
      } else {
        for (int64_t k = 0; k < reduce; ++k) acc += (base[k * inner] - m) * (base[k * inner] - m);
      }
      y[o * inner + i] = acc;
    }
  }
}

namespace {
template <bool kMax>
void extreme_reduce(const float* x, float* values, int64_t* indices, int64_t outer, int64_t reduce, int64_t inner) {
  const int64_t total = outer * reduce * inner;
#pragma omp parallel for collapse(2) if (total > kParallelGrain) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* base = x + o * reduce * inner + i;
      float best = base[0];
      int64_t best_k = 0;
      for (int64_t k = 1; k < reduce && !std::isnan(best); ++k) {
        float v = base[k * inner];
        if (std::isnan(v) || (kMax ? v > best : v < best)) {
          best = v;
          best_k = k;
        }
      }
      values[o * inner + i] = best;
      if (indices) indices[o * inner + i] = best_k;
    }
  }
}
}  // namespace

void max_reduce(const float* x, float* values, int64_t* indices, int64_t outer, int64_t reduce, int64_t inner) {
  extreme_reduce<true>(x, values, indices, outer, reduce, inner);
}
void min_reduce(const float* x, float* values, int64_t* indices, int64_t outer, int64_t reduce, int64_t inner) {
  extreme_reduce<false>(x, values, indices, outer, reduce, inner);
}

double norm_accumulate(const float* x, int64_t n, double p) {
  double acc = 0;
  if (std::isinf(p)) {
#pragma omp parallel for reduction(max : acc) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) acc = std::max(acc, double(std::abs(x[i])));
  } else if (p == 2) {
#pragma omp parallel for simd reduction(+ : acc) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) acc += double(x[i]) * double(x[i]);
  } else if (p == 1) {
#pragma omp parallel for simd reduction(+ : acc) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) acc += std::abs(double(x[i]));
  } else {
#pragma omp parallel for reduction(+ : acc) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) acc += std::pow(std::abs(double(x[i])), p);
  }
  return acc;
}

bool all_finite(const float* x, int64_t n) {
  bool finite = true;
  for (int64_t i = 0; i < n; ++i) finite &= std::fabs(x[i]) <= 3.4028235e38f;  // false for NaN
  return finite;
}

void scale_in_place(float* x, int64_t n, float factor) {
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) x[i] *= factor;
}

void clamp_in_place(float* x, int64_t n, float lo, float hi) {
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i], lo), hi);
}

}  // namespace nabla::kernels
