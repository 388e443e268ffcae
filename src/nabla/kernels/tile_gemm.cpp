#include "nabla/kernels/tile_gemm.h"

#include <algorithm>

#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {
namespace {

#ifdef NABLA_AVX2
using V = vec::WideFloats;
constexpr int64_t kLanes = vec::kWideLanes;
// Vectors of C per row in one step: R x P accumulators, P loads of B and R broadcasts of A per
// R x P multiply-adds. AVX-512 (32 registers): 6 x 4 = 24 accumulators over 64 columns; AVX2
// (16): 6 x 2 over 16.
constexpr int kMaxRows = 6;
#ifdef __AVX512F__
constexpr int kVectorsPerStep = 4;
#else
constexpr int kVectorsPerStep = 2;
#endif

// R rows of C times P vectors of columns from column j; the last vector holds `last` columns
// (masked when Tail). B's rows are never read past column n.
template <int R, int P, bool Tail>
void block_kernel(int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb, float* c,
                  int64_t ldc, int64_t last, bool accumulate) {
  V acc[R][P];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j) acc[r][j] = V{};
  for (int64_t p = 0; p < k; ++p) {
    const float* brow = b + p * ldb;
    V bv[P];
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j)
      bv[j] = Tail && j == P - 1 ? vec::load_first<V>(brow + j * kLanes, last) : vec::load<V>(brow + j * kLanes);
    const float* ap = a + p * a_col;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const V x = vec::splat<V>(ap[r * a_row]);
#pragma GCC unroll 8
      for (int j = 0; j < P; ++j) acc[r][j] = vec::fmadd(x, bv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j) {
      float* out = c + r * ldc + j * kLanes;
      const int64_t count = Tail && j == P - 1 ? last : kLanes;
      V v = acc[r][j];
      if (accumulate) v = v + (count == kLanes ? vec::load<V>(out) : vec::load_first<V>(out, count));
      if (count == kLanes)
        vec::store(out, v);
      else
        vec::store_first(out, v, count);
    }
}

using BlockKernel = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                             bool);

template <int R, int P>
constexpr BlockKernel pick(bool tail) {
  return tail ? block_kernel<R, P, true> : block_kernel<R, P, false>;
}

template <int R>
BlockKernel kernel_for(int vectors, bool tail) {
  static_assert(kVectorsPerStep == 2 || kVectorsPerStep == 4);
  if constexpr (kVectorsPerStep == 4) {
    if (vectors == 4) return pick<R, 4>(tail);
    if (vectors == 3) return pick<R, 3>(tail);
  }
  return vectors == 2 ? pick<R, 2>(tail) : pick<R, 1>(tail);
}

BlockKernel kernel_for(int rows, int vectors, bool tail) {
  switch (rows) {
    case 1: return kernel_for<1>(vectors, tail);
    case 2: return kernel_for<2>(vectors, tail);
    case 3: return kernel_for<3>(vectors, tail);
    case 4: return kernel_for<4>(vectors, tail);
    case 5: return kernel_for<5>(vectors, tail);
    default: return kernel_for<6>(vectors, tail);
  }
}
#endif

}  // namespace

void tile_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate) {
#ifdef NABLA_AVX2
  // Column steps outermost, so every row group reuses the step's B columns from L1. Rows in groups
  // of at most six, as even as possible (16 rows run as 6 + 5 + 5, not 6 + 6 + 4).
  const int64_t groups = (m + kMaxRows - 1) / kMaxRows, step = kVectorsPerStep * kLanes;
  for (int64_t j = 0; j < n; j += step) {
    const int64_t columns = std::min(step, n - j);
    const int vectors = int((columns + kLanes - 1) / kLanes);
    const int64_t last = columns - (vectors - 1) * kLanes;
    for (int64_t g = 0, i = 0; g < groups; ++g) {
      const int64_t rows = (m - i) / (groups - g);
      kernel_for(int(rows), vectors, last < kLanes)(k, a + i * a_row, a_row, a_col, b + j, ldb, c + i * ldc + j, ldc,
                                                    last, accumulate);
      i += rows;
    }
  }
#else
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int64_t p = 0; p < k; ++p) sum += a[i * a_row + p * a_col] * b[p * ldb + j];
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
    }
#endif
}

}  // namespace nabla::kernels
