#include "nabla/kernels/strided_copy.h"

#include <xmmintrin.h>

#include <algorithm>

#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {
namespace {

// Rows this far ahead are requested before they are read.
constexpr int64_t kPrefetchRows = 8;

#ifdef __AVX512F__
using Row = __m512;
constexpr int kBlock = 16;

__m512 interleave_low_pairs(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, _mm512_castps_pd(a), _mm512_castps_pd(b)));
}
__m512 interleave_high_pairs(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, _mm512_castps_pd(a), _mm512_castps_pd(b)));
}

// r[i] = row i of a 16 x 16 block in, column i out: 4 rounds of 16 shuffles.
void transpose_registers(Row (&r)[kBlock]) {
  Row t[kBlock];
  for (int i = 0; i < kBlock; i += 2) {
    t[i] = _mm512_maskz_unpacklo_ps(vec::kAllLanes, r[i], r[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_ps(vec::kAllLanes, r[i], r[i + 1]);
  }
  for (int i = 0; i < kBlock; i += 4) {
    r[i] = interleave_low_pairs(t[i], t[i + 2]);
    r[i + 1] = interleave_high_pairs(t[i], t[i + 2]);
    r[i + 2] = interleave_low_pairs(t[i + 1], t[i + 3]);
    r[i + 3] = interleave_high_pairs(t[i + 1], t[i + 3]);
  }
  for (int h = 0; h < kBlock; h += 8)
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_maskz_shuffle_f32x4(vec::kAllLanes, r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_maskz_shuffle_f32x4(vec::kAllLanes, r[h + i], r[h + i + 4], 0xdd);
    }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_maskz_shuffle_f32x4(vec::kAllLanes, t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_maskz_shuffle_f32x4(vec::kAllLanes, t[i], t[i + 8], 0xdd);
  }
}
#elif defined(NABLA_AVX2)
using Row = __m256;
constexpr int kBlock = 8;

// r[i] = row i of an 8 x 8 block in, column i out.
void transpose_registers(Row (&r)[kBlock]) {
  Row t[kBlock];
  for (int i = 0; i < kBlock; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < kBlock; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
    t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
  }
  for (int i = 0; i < kBlock; ++i) r[i] = t[i];
}
#endif

}  // namespace

void prefetch_row(const float* row, int64_t cols) {
  for (int64_t c = 0; c < cols; c += 16) _mm_prefetch(reinterpret_cast<const char*>(row + c), _MM_HINT_T0);
}

void copy_rows(const float* x, int64_t ld, int64_t rows, int64_t cols, float* out, int64_t ldo) {
  for (int64_t r = 0; r < rows; ++r) {
    if (r + kPrefetchRows < rows) prefetch_row(x + (r + kPrefetchRows) * ld, cols);
    std::copy_n(x + r * ld, cols, out + r * ldo);
  }
}

void transpose(const float* x, int64_t ld, int64_t rows, int64_t cols, float* out, int64_t ldo) {
  int64_t r0 = 0;
#ifdef NABLA_AVX2
  // Whole blocks of rows; the columns' tail is masked in and only its columns are written out.
  for (; r0 + kBlock <= rows; r0 += kBlock) {
    for (int64_t i = kBlock; i < 2 * kBlock && r0 + i < rows; ++i) prefetch_row(x + (r0 + i) * ld, cols);
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t width = std::min<int64_t>(kBlock, cols - c0);
      Row r[kBlock];
      for (int i = 0; i < kBlock; ++i) {
        const float* row = x + (r0 + i) * ld + c0;
        r[i] = width == kBlock ? vec::load<Row>(row) : vec::load_first<Row>(row, width);
      }
      transpose_registers(r);
      for (int64_t i = 0; i < width; ++i) vec::store(out + (c0 + i) * ldo + r0, r[i]);
    }
  }
#endif
  for (; r0 < rows; ++r0)
    for (int64_t c = 0; c < cols; ++c) out[c * ldo + r0] = x[r0 * ld + c];
}

}  // namespace nabla::kernels
