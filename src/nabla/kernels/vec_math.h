// Vectorised float math for the hot transcendental functions, written once over the vector width:
// 8 lanes (AVX2 + FMA) and, where the build has AVX-512, 16. Every lane runs the same operations
// at either width, so a result does not depend on which width computed it. Scalar twins serve
// loop tails. exp is Cephes' polynomial (about 1 ulp); the rest build on it.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define NABLA_AVX2 1
#endif

namespace nabla::vec {

inline float exp_scalar(float x) { return std::exp(x); }
inline float sigmoid_scalar(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float tanh_scalar(float x) { return std::tanh(x); }
inline float erf_scalar(float x) { return std::erf(x); }

#ifdef NABLA_AVX2
// The per-width building blocks. min and max return their second operand when either is NaN, so
// callers put the value that must keep a NaN second.
template <typename V>
V splat(float x);
template <typename V>
V load(const float* p);

template <>
inline __m256 splat<__m256>(float x) {
  return _mm256_set1_ps(x);
}
template <>
inline __m256 load<__m256>(const float* p) {
  return _mm256_loadu_ps(p);
}
inline void store(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
// The first `count` lanes only (0 <= count <= 8): masked, so a row's tail needs no bounce
// buffer (whose partial reads stall store forwarding). load_first zeroes the other lanes.
// first_lanes_mask: lanes below count set (none for count <= 0).
inline __m256i first_lanes_mask(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline void store_first(float* p, __m256 v, int64_t count) { _mm256_maskstore_ps(p, first_lanes_mask(count), v); }
template <typename V>
V load_first(const float* p, int64_t count);
template <>
inline __m256 load_first<__m256>(const float* p, int64_t count) {
  return _mm256_maskload_ps(p, first_lanes_mask(count));
}
inline __m256 min(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }
inline __m256 max(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
inline __m256 fmadd(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
inline __m256 fnmadd(__m256 a, __m256 b, __m256 c) { return _mm256_fnmadd_ps(a, b, c); }
inline __m256 round_nearest(__m256 x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// 2^n for integral n in float's exponent range.
inline __m256 pow2(__m256 n) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
}
inline __m256 abs(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
// magnitude (non-negative) with the sign of x.
inline __m256 with_sign_of(__m256 magnitude, __m256 x) {
  return _mm256_or_ps(magnitude, _mm256_and_ps(x, _mm256_set1_ps(-0.0f)));
}
// Per lane: at_least where x >= threshold, else below.
inline __m256 select_at_least(__m256 x, float threshold, __m256 below, __m256 at_least) {
  return _mm256_blendv_ps(below, at_least, _mm256_cmp_ps(x, _mm256_set1_ps(threshold), _CMP_GE_OQ));
}

#ifdef __AVX512F__
// Min, max, rounding, conversion and shifts use their zero-masking forms with every lane on:
// GCC 12's plain forms pass an undefined register and warn falsely (GCC bug 105593).
constexpr __mmask16 kAllLanes = 0xFFFF;

template <>
inline __m512 splat<__m512>(float x) {
  return _mm512_set1_ps(x);
}
template <>
inline __m512 load<__m512>(const float* p) {
  return _mm512_loadu_ps(p);
}
inline void store(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
inline void store_first(float* p, __m512 v, int64_t count) {
  _mm512_mask_storeu_ps(p, __mmask16((1u << count) - 1), v);
}
template <>
inline __m512 load_first<__m512>(const float* p, int64_t count) {
  return _mm512_maskz_loadu_ps(__mmask16((1u << count) - 1), p);
}
inline __m512 min(__m512 a, __m512 b) { return _mm512_maskz_min_ps(kAllLanes, a, b); }
inline __m512 max(__m512 a, __m512 b) { return _mm512_maskz_max_ps(kAllLanes, a, b); }
inline __m512 fmadd(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
inline __m512 fnmadd(__m512 a, __m512 b, __m512 c) { return _mm512_fnmadd_ps(a, b, c); }
inline __m512 round_nearest(__m512 x) {
  return _mm512_maskz_roundscale_ps(kAllLanes, x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
inline __m512 pow2(__m512 n) {
  const __m512i biased = _mm512_add_epi32(_mm512_maskz_cvtps_epi32(kAllLanes, n), _mm512_set1_epi32(127));
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAllLanes, biased, 23));
}
inline __m512 abs(__m512 x) {
  const __m512i sign = _mm512_set1_epi32(int32_t(0x80000000u));
  return _mm512_castsi512_ps(_mm512_maskz_andnot_epi32(kAllLanes, sign, _mm512_castps_si512(x)));
}
inline __m512 with_sign_of(__m512 magnitude, __m512 x) {
  const __m512i sign = _mm512_set1_epi32(int32_t(0x80000000u));
  return _mm512_castsi512_ps(
      _mm512_or_si512(_mm512_castps_si512(magnitude), _mm512_and_si512(_mm512_castps_si512(x), sign)));
}
inline __m512 select_at_least(__m512 x, float threshold, __m512 below, __m512 at_least) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(threshold), _CMP_GE_OQ), below, at_least);
}
#endif

// The widest float vector of the build.
#ifdef __AVX512F__
using WideFloats = __m512;
#else
using WideFloats = __m256;
#endif
constexpr int64_t kWideLanes = sizeof(WideFloats) / sizeof(float);

// Runs body(i, V{}) over [i, end) a vector at a time, 16 lanes where the build has AVX-512, then
// 8; returns where the vectors stopped (the scalar tail is the caller's).
template <typename Body>
int64_t over_vectors(int64_t i, int64_t end, Body body) {
#ifdef __AVX512F__
  for (; i + 16 <= end; i += 16) body(i, __m512{});
#endif
  for (; i + 8 <= end; i += 8) body(i, __m256{});
  return i;
}

// Always inlined: a masked tail's call would otherwise take every caller's loop out of line.
template <typename V>
[[gnu::always_inline]] inline V exp(V x) {
  constexpr float kLimit = 88.3762626647949f;
  x = min(splat<V>(kLimit), max(splat<V>(-kLimit), x));  // x second: NaN stays NaN
  // exp(x) = 2^n * exp(r), n = round(x / ln2), r = x - n ln2 split in two parts for accuracy.
  const V n = round_nearest(x * 1.44269504088896341f);
  V r = fnmadd(n, splat<V>(0.693359375f), x);
  r = fnmadd(n, splat<V>(-2.12194440e-4f), r);
  V p = splat<V>(1.9875691500E-4f);
  p = fmadd(p, r, splat<V>(1.3981999507E-3f));
  p = fmadd(p, r, splat<V>(8.3334519073E-3f));
  p = fmadd(p, r, splat<V>(4.1665795894E-2f));
  p = fmadd(p, r, splat<V>(1.6666665459E-1f));
  p = fmadd(p, r, splat<V>(5.0000001201E-1f));
  p = fmadd(p, r * r, r + 1.0f);
  return p * pow2(n);
}

template <typename V>
V sigmoid(V x) {
  return 1.0f / (1.0f + exp(0.0f - x));
}

// Cephes tanhf: a polynomial near zero (keeps relative accuracy), 1 - 2/(e^2x + 1) beyond.
template <typename V>
V tanh(V x) {
  const V ax = abs(x), z = x * x;
  V p = splat<V>(-5.70498872745E-3f);
  p = fmadd(p, z, splat<V>(2.06390887954E-2f));
  p = fmadd(p, z, splat<V>(-5.37397155531E-2f));
  p = fmadd(p, z, splat<V>(1.33314422036E-1f));
  p = fmadd(p, z, splat<V>(-3.33332819422E-1f));
  const V small = fmadd(p * z, x, x);
  const V big = with_sign_of(1.0f - 2.0f / (exp(ax + ax) + 1.0f), x);
  return select_at_least(ax, 0.625f, small, big);
}

// erf: Eigen's rational approximation x P(x^2) / Q(x^2) on [-4, 4] (beyond it erf is +-1 in
// float). No exp and one division: about 3x faster than an erfc-based form, and odd, so it keeps
// relative accuracy near zero.
template <typename V>
V erf(V x) {
  x = min(splat<V>(4.0f), max(splat<V>(-4.0f), x));  // NaN stays NaN
  const V x2 = x * x;
  V p = splat<V>(-2.72614225801306e-10f);
  p = fmadd(p, x2, splat<V>(2.77068142495902e-08f));
  p = fmadd(p, x2, splat<V>(-2.10102402082508e-06f));
  p = fmadd(p, x2, splat<V>(-5.69250639462346e-05f));
  p = fmadd(p, x2, splat<V>(-7.34990630326855e-04f));
  p = fmadd(p, x2, splat<V>(-2.95459980854025e-03f));
  p = fmadd(p, x2, splat<V>(-1.60960333262415e-02f));
  p = p * x;
  V q = splat<V>(-1.45660718464996e-05f);
  q = fmadd(q, x2, splat<V>(-2.13374055278905e-04f));
  q = fmadd(q, x2, splat<V>(-1.68282697438203e-03f));
  q = fmadd(q, x2, splat<V>(-7.37332916720468e-03f));
  q = fmadd(q, x2, splat<V>(-1.42647390514189e-02f));
  return p / q;
}
#endif

}  // namespace nabla::vec
