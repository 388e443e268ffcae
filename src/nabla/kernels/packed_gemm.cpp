#include "nabla/kernels/packed_gemm.h"

#include <algorithm>

#include "nabla/kernels/tile_gemm.h"

namespace nabla::kernels {
namespace {

// Columns per panel: one column step of tile_gemm's AVX-512 kernel (4 vectors), four of AVX2's.
constexpr int64_t kPanel = 64;

int64_t panel_count(int64_t n) { return (n + kPanel - 1) / kPanel; }

}  // namespace

PackedWeight::PackedWeight(const float* b, int64_t n, int64_t k, int64_t n_stride, int64_t k_stride)
    : n_(n), k_(k), panels_(size_t(panel_count(n) * k * kPanel)) {
  float* dst = panels_.data();
  for (int64_t p = 0; p < panel_count(n); ++p)
    for (int64_t q = 0; q < k; ++q)
      for (int64_t j = 0; j < kPanel; ++j) {
        const int64_t col = p * kPanel + j;
        dst[(p * k + q) * kPanel + j] = col < n ? b[col * n_stride + q * k_stride] : 0.0f;
      }
}

void PackedWeight::multiply(const float* a, int64_t lda, int64_t m, float* c, int64_t ldc, bool accumulate) const {
  // Panels outermost: tile_gemm runs every row group against a panel while it is in L1/L2, so the
  // weight streams from memory (or the shared L3) once per call, not once per group; a 3 MB GRU
  // 512 weight does not fit L2. A panel's rows are contiguous, unlike a weight's rows in place.
  for (int64_t p = 0; p < panel_count(n_); ++p)
    tile_gemm(m, std::min(kPanel, n_ - p * kPanel), k_, a, lda, 1, panels_.data() + p * k_ * kPanel, kPanel,
              c + p * kPanel, ldc, accumulate);
}

}  // namespace nabla::kernels
