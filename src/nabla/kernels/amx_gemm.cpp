#include "nabla/kernels/amx_gemm.h"

#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "nabla/kernels/bf16_convert.h"
#include "nabla/kernels/strided_copy.h"

namespace nabla::kernels::amx {
namespace {

constexpr int kArchRequestPermission = 0x1023;  // ARCH_REQ_XCOMP_PERM
constexpr int kTileDataFeature = 18;            // XFEATURE_XTILEDATA

bool cpu_has_amx_bf16() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool tile = edx & (1u << 24), bf16 = edx & (1u << 22);
  return tile && bf16;
}

// Palette 1 with all eight tiles 16 rows x 64 bytes: tiles 0-3 hold a 32x32 block of C, 4-5
// two 16-row slices of A, 6-7 two 16-column slices of B.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

uint16_t bits(float x) { return uint16_t(rounded_high_bits(x) >> 16); }
uint16_t* raw(bf16* x) { return reinterpret_cast<uint16_t*>(x); }

}  // namespace

bool available() {
  static const bool usable =
      cpu_has_amx_bf16() && syscall(SYS_arch_prctl, kArchRequestPermission, kTileDataFeature) == 0;
  return usable;
}

namespace {

// Free functions: GCC does not apply a target attribute to a constructor's body.
__attribute__((target("amx-tile"))) void load_tile_config() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.bytes_per_row[t] = 64;
    config.rows[t] = 16;
  }
  // GCC's ldtilecfg asm names only the first 8 bytes as its input: keep the other stores.
  asm volatile("" ::: "memory");
  _tile_loadconfig(&config);
}

__attribute__((target("amx-tile"))) void release_tiles() { _tile_release(); }

}  // namespace

TileScope::TileScope() { load_tile_config(); }

TileScope::~TileScope() { release_tiles(); }

__attribute__((target("amx-tile,amx-bf16"))) void gemm(int64_t m, int64_t n, int64_t k, const bf16* a, int64_t lda,
                                                       const bf16* b, int64_t ldb, float* c, int64_t ldc,
                                                       bool accumulate) {
  const int64_t a_stride = lda * 2, b_stride = ldb * 2, c_stride = ldc * 4;  // in bytes
  for (int64_t i = 0; i < m; i += 32)
    for (int64_t j = 0; j < n; j += 32) {
      float* c0 = c + i * ldc + j;
      float* c1 = c0 + 16 * ldc;
      if (accumulate) {
        _tile_loadd(0, c0, c_stride);
        _tile_loadd(1, c0 + 16, c_stride);
        _tile_loadd(2, c1, c_stride);
        _tile_loadd(3, c1 + 16, c_stride);
      } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
      }
      for (int64_t p = 0; p < k; p += 32) {
        const bf16* a0 = a + i * lda + p;
        const bf16* b0 = b + (p / 2) * ldb + 2 * j;
        _tile_loadd(4, a0, a_stride);
        _tile_loadd(5, a0 + 16 * lda, a_stride);
        _tile_loadd(6, b0, b_stride);
        _tile_loadd(7, b0 + 32, b_stride);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      _tile_stored(0, c0, c_stride);
      _tile_stored(1, c0 + 16, c_stride);
      _tile_stored(2, c1, c_stride);
      _tile_stored(3, c1 + 16, c_stride);
    }
}

// Packing runs only where gemm can (AMX CPUs all have AVX512-BF16): one instruction rounds 32
// floats to nearest even.
#define NABLA_PACK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace {

// out[c] = x[c] * scale in bf16 for c < n, then zeros up to n_pad. Unlike f32_to_bf16 this keeps
// the instruction's flushing of denormals: attention operands that small contribute nothing.
NABLA_PACK_TARGET void convert_row(const float* x, int64_t n, float scale, uint16_t* out, int64_t n_pad) {
  const __m512 vscale = _mm512_set1_ps(scale);
  int64_t c = 0;
  for (; c < n; c += 32) {
    const int64_t left = n - c;
    const __mmask16 lo = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    const __mmask16 hi = left >= 32 ? __mmask16(0xffff) : left <= 16 ? 0 : __mmask16((1u << (left - 16)) - 1);
    const __m512 a = _mm512_mul_ps(_mm512_maskz_loadu_ps(lo, x + c), vscale);
    const __m512 b = _mm512_mul_ps(_mm512_maskz_loadu_ps(hi, x + c + 16), vscale);
    _mm512_storeu_si512(out + c, __m512i(_mm512_cvtne2ps_pbh(b, a)));  // masked-off lanes are zero
  }
  std::fill(out + c, out + n_pad, uint16_t(0));
}

// Rows of a [B, T, 3E] projection are kilobytes apart, one page each, where the hardware
// prefetcher stops: fetch a few rows ahead (prefetch_row, strided_copy.h).
constexpr int64_t kPrefetchRows = 4;

}  // namespace

void pack_rows(const float* x, int64_t ld, int64_t rows, int64_t cols, float scale, bf16* out, int64_t rows_pad,
               int64_t cols_pad) {
  uint16_t* o = raw(out);
  for (int64_t r = 0; r < rows; ++r) {
    if (r + kPrefetchRows < rows) prefetch_row(x + (r + kPrefetchRows) * ld, cols);
    convert_row(x + r * ld, cols, scale, o + r * cols_pad, cols_pad);
  }
  std::fill(o + rows * cols_pad, o + rows_pad * cols_pad, uint16_t(0));
}

void pack_rows_transposed(const float* x, int64_t ld, int64_t rows, int64_t cols, bf16* out, int64_t cols_pad,
                          int64_t rows_pad) {
  uint16_t* o = raw(out);
  std::fill(o, o + cols_pad * rows_pad, uint16_t(0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) o[c * rows_pad + r] = bits(x[r * ld + c]);
}

void pack_pairs(const float* x, int64_t ld, int64_t k, int64_t n, bf16* out, int64_t k_pad, int64_t n_pad) {
  // A pair is one 32-bit word: row 2p's element in the low half, row 2p + 1's in the high half.
  auto* o = reinterpret_cast<uint32_t*>(raw(out));
  for (int64_t p = 0; p < k; p += 2) {
    const float *even = x + p * ld, *odd = p + 1 < k ? even + ld : nullptr;
    uint32_t* orow = o + (p / 2) * n_pad;
    if (odd) {
#pragma omp simd
      for (int64_t c = 0; c < n; ++c) orow[c] = rounded_high_bits(odd[c]) | (rounded_high_bits(even[c]) >> 16);
    } else {
      for (int64_t c = 0; c < n; ++c) orow[c] = rounded_high_bits(even[c]) >> 16;
    }
    std::fill(orow + n, orow + n_pad, 0u);
  }
  std::fill(o + (k + 1) / 2 * n_pad, o + k_pad / 2 * n_pad, 0u);
}

void pack_pairs_transposed(const float* x, int64_t ld, int64_t n, int64_t k, float scale, bf16* out, int64_t k_pad,
                           int64_t n_pad) {
  // x's row c in bf16 is already column c's pairs; scatter them down the column.
  auto* o = reinterpret_cast<uint32_t*>(raw(out));
  std::vector<uint32_t> pairs(size_t(k_pad / 2));
  for (int64_t c = 0; c < n; ++c) {
    if (c + kPrefetchRows < n) prefetch_row(x + (c + kPrefetchRows) * ld, k);
    convert_row(x + c * ld, k, scale, reinterpret_cast<uint16_t*>(pairs.data()), k_pad);
    for (int64_t p = 0; p < k_pad / 2; ++p) o[p * n_pad + c] = pairs[p];
  }
  for (int64_t p = 0; p < k_pad / 2; ++p) std::fill(o + p * n_pad + n, o + (p + 1) * n_pad, 0u);
}

}  // namespace nabla::kernels::amx
