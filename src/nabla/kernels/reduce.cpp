#include "nabla/kernels/reduce.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nabla/kernels/parallel.h"

namespace nabla::kernels {

namespace {

// Sums accumulate in f64 lanes: a reduction reads memory far slower than it converts and adds, so
// the wider accumulator is free, and a mean over millions of values (all of Fashion-MNIST's 47M
// pixels) is as right as its f32 result can be — f32 lanes alone lose digits as rows grow.
// Rows are cut in blocks so a few long rows can share the threads.
constexpr int64_t kBlock = 4096;

// 32 lanes: four independent vector accumulators, so the adds' latency never limits the stream.
constexpr int kLanes = 32;

inline double block_sum(const float* p, int64_t n) {
  double lanes[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
#pragma omp simd
    for (int j = 0; j < kLanes; ++j) lanes[j] += double(p[k + j]);
  double acc = 0;
  for (; k < n; ++k) acc += double(p[k]);
  for (double v : lanes) acc += v;
  return acc;
}

inline double block_squared_deviation(const float* p, int64_t n, double m) {
  double lanes[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
#pragma omp simd
    for (int j = 0; j < kLanes; ++j) lanes[j] += (double(p[k + j]) - m) * (double(p[k + j]) - m);
  double acc = 0;
  for (; k < n; ++k) acc += (double(p[k]) - m) * (double(p[k]) - m);
  for (double v : lanes) acc += v;
  return acc;
}

// sum over one contiguous row of block_value(start, length), in f64. A few long rows share the
// threads block by block; many rows take a thread each (the caller's loop).
template <typename BlockValue>
double blocked_row_sum(int64_t n, bool parallel, BlockValue block_value) {
  if (n <= kBlock) return block_value(0, n);
  double total = 0;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  if (!parallel) {  // no parallel region at all: rows are often short and many
    for (int64_t b = 0; b < blocks; ++b) total += block_value(b * kBlock, std::min(kBlock, n - b * kBlock));
    return total;
  }
#pragma omp parallel for reduction(+ : total) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) total += block_value(b * kBlock, std::min(kBlock, n - b * kBlock));
  return total;
}

// Rows in parallel when there are enough of them, otherwise blocks inside each row.
template <typename RowValue>
void for_each_row(int64_t outer, int64_t reduce, RowValue row_value) {
  const bool big = outer * reduce > kParallelGrain;
  if (!big || outer >= num_threads()) {
#pragma omp parallel for if (big) schedule(static)
    for (int64_t o = 0; o < outer; ++o) row_value(o, false);
  } else {
    for (int64_t o = 0; o < outer; ++o) row_value(o, true);
  }
}

}  // namespace

void sum_reduce(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner) {
  if (inner == 1) {
    for_each_row(outer, reduce, [&](int64_t o, bool parallel) {
      const float* row = x + o * reduce;
      y[o] = float(blocked_row_sum(reduce, parallel, [&](int64_t k, int64_t n) { return block_sum(row + k, n); }));
    });
    return;
  }
  // Columns: accumulate whole rows so the inner loop is contiguous and vectorised.
  const int64_t total = outer * reduce * inner;
  const int threads = num_threads();
  if (total > kParallelGrain && outer * ((inner + 255) / 256) < 4 * threads && reduce >= 4 * threads) {
    // Few column tiles but many rows (a mean over a data set's examples): each thread sums its
    // share of the rows across all columns, and the shares are added at the end.
    std::vector<double> shares(size_t(threads) * size_t(inner));
    for (int64_t o = 0; o < outer; ++o) {
      std::fill(shares.begin(), shares.end(), 0.0);
#pragma omp parallel num_threads(threads)
      {
        const int t = omp_get_thread_num(), team = omp_get_num_threads();
        double* share = shares.data() + size_t(t) * size_t(inner);
        for (int64_t k = reduce * t / team; k < reduce * (t + 1) / team; ++k) {
          const float* row = x + (o * reduce + k) * inner;
#pragma omp simd
          for (int64_t i = 0; i < inner; ++i) share[i] += double(row[i]);
        }
      }
      for (int64_t i = 0; i < inner; ++i) {
        double sum = 0;
        for (int t = 0; t < threads; ++t) sum += shares[size_t(t) * size_t(inner) + size_t(i)];
        y[o * inner + i] = float(sum);
      }
    }
    return;
  }
#pragma omp parallel for collapse(2) if (total > kParallelGrain) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i0 = 0; i0 < inner; i0 += 256) {
      const int64_t width = std::min(inner, i0 + 256) - i0;
      double sums[256] = {};
      for (int64_t k = 0; k < reduce; ++k) {
        const float* row = x + (o * reduce + k) * inner + i0;
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) sums[i] += double(row[i]);
      }
      float* out = y + o * inner + i0;
      for (int64_t i = 0; i < width; ++i) out[i] = float(sums[i]);
    }
  }
}

void squared_deviation_reduce(const float* x, const float* mean, float* y, int64_t outer, int64_t reduce,
                              int64_t inner) {
  if (inner == 1) {
    for_each_row(outer, reduce, [&](int64_t o, bool parallel) {
      const float* row = x + o * reduce;
      const double m = mean[o];
      y[o] = float(blocked_row_sum(reduce, parallel,
                                   [&](int64_t k, int64_t n) { return block_squared_deviation(row + k, n, m); }));
    });
    return;
  }
  const int64_t total = outer * reduce * inner;
#pragma omp parallel for collapse(2) if (total > kParallelGrain) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float m = mean[o * inner + i];
      const float* base = x + o * reduce * inner + i;
      double sum = 0;
      for (int64_t k0 = 0; k0 < reduce; k0 += kBlock) {
        float acc = 0;
        for (int64_t k = k0; k < std::min(reduce, k0 + kBlock); ++k)
          acc += (base[k * inner] - m) * (base[k * inner] - m);
        sum += acc;
      }
      y[o * inner + i] = float(sum);
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
