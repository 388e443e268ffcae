#include "nabla/kernels/conv_direct.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "nabla/core/allocator.h"
#include "nabla/core/error.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/parallel.h"
#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {

#ifndef NABLA_AVX2

bool direct_conv_applies(const ConvShape&) { return false; }
void direct_conv_forward(const ConvShape&, const float*, const float*, const float*, float*) {
  NABLA_CHECK(false, "direct convolution needs a build with AVX2");
}
void direct_conv_backward_weights(const ConvShape&, const float*, const float*, float*, float*) {
  NABLA_CHECK(false, "direct convolution needs a build with AVX2");
}

#else

namespace {

using V = vec::WideFloats;
constexpr int64_t L = vec::kWideLanes;
constexpr int kMaxKernelWidth = 7;
constexpr int kVectorRegisters = L == 16 ? 32 : 16;

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

// The input with its padding written out, [N, C, Ho + kh - 1, padded_wo + kw - 1], so output
// (oy, ox) reads rows oy + i and columns ox + j, and every vector load stays inside.
struct PaddedInput {
  int64_t channels, rows, width;
  PooledBuffer<float> data;
  PaddedInput(const ConvShape& s, const float* x, int64_t padded_wo)
      : channels(s.c), rows(s.ho + s.kh - 1), width(padded_wo + s.kw - 1), data(size_t(s.n * s.c * rows * width)) {
    const int64_t columns = std::clamp<int64_t>(width - s.pw, 0, s.w);  // input columns that land in the buffer
#pragma omp parallel for if (s.n * s.c * rows * width > kParallelGrain) schedule(static)
    for (int64_t plane = 0; plane < s.n * s.c; ++plane)
      for (int64_t r = 0; r < rows; ++r) {
        float* row = data.data() + (plane * rows + r) * width;
        const int64_t iy = r - s.ph;
        std::fill(row, row + width, 0.0f);
        if (iy >= 0 && iy < s.h) std::memcpy(row + s.pw, x + (plane * s.h + iy) * s.w, size_t(columns) * sizeof(float));
      }
  }
  const float* row(int64_t n, int64_t c, int64_t r) const {
    return data.data() + ((n * channels + c) * rows + r) * width;
  }
};

// Forward, one output row of one image: OB filters times CH vectors of the row in registers;
// every tap loads CH input vectors and broadcasts OB weights into OB x CH multiply-adds.
template <int OB, int CH>
void forward_row(const ConvShape& s, const PaddedInput& xp, const float* packed_weight, const float* padded_bias,
                 int64_t n, int64_t oy, float* y) {
  const int64_t taps = s.c * s.kh * s.kw;
  for (int64_t o0 = 0; o0 < s.o; o0 += OB) {
    for (int64_t x0 = 0; x0 < s.wo; x0 += CH * L) {
      V acc[OB][CH];
#pragma GCC unroll 8
      for (int b = 0; b < OB; ++b)
#pragma GCC unroll 8
        for (int ch = 0; ch < CH; ++ch) acc[b][ch] = vec::splat<V>(padded_bias[o0 + b]);
      const float* w = packed_weight + o0 * taps;  // [c][i][j][OB]
      for (int64_t c = 0; c < s.c; ++c)
        for (int64_t i = 0; i < s.kh; ++i) {
          const float* row = xp.row(n, c, oy + i) + x0;
          for (int64_t j = 0; j < s.kw; ++j, w += OB) {
            V xv[CH];
#pragma GCC unroll 8
            for (int ch = 0; ch < CH; ++ch) xv[ch] = vec::load<V>(row + j + ch * L);
#pragma GCC unroll 8
            for (int b = 0; b < OB; ++b) {
              const V wv = vec::splat<V>(w[b]);
#pragma GCC unroll 8
              for (int ch = 0; ch < CH; ++ch) acc[b][ch] = vec::fmadd(wv, xv[ch], acc[b][ch]);
            }
          }
        }
#pragma GCC unroll 8
      for (int b = 0; b < OB; ++b)  // to OB, not s.o: a runtime bound would spill acc to memory
#pragma GCC unroll 8
        for (int ch = 0; ch < CH; ++ch) {
          const int64_t begin = x0 + ch * L, valid = std::min<int64_t>(L, s.wo - begin);
          float* out = y + ((n * s.o + o0 + b) * s.ho + oy) * s.wo + begin;
          if (o0 + b >= s.o) break;
          if (valid == L)
            vec::store(out, acc[b][ch]);
          else if (valid > 0)
            vec::store_first(out, acc[b][ch], valid);
        }
    }
  }
}

template <int OB, int CH>
void forward_blocked(const ConvShape& s, const float* x, const float* weight, const float* bias, float* y) {
  const int64_t taps = s.c * s.kh * s.kw, padded_o = round_up(s.o, OB);
  // Weights as [o / OB][c][i][j][OB] so a tap's OB filter values sit together; zero filters pad o.
  std::vector<float> packed(size_t(padded_o * taps), 0.0f), padded_bias(size_t(padded_o), 0.0f);
  for (int64_t o = 0; o < s.o; ++o) {
    for (int64_t t = 0; t < taps; ++t) packed[size_t((o / OB * taps + t) * OB + o % OB)] = weight[o * taps + t];
    padded_bias[size_t(o)] = bias ? bias[o] : 0.0f;
  }
  const PaddedInput xp(s, x, round_up(s.wo, CH * L));
#pragma omp parallel for collapse(2) if (s.n * s.ho * s.wo * s.o * taps > kParallelGrain) schedule(static)
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t oy = 0; oy < s.ho; ++oy) forward_row<OB, CH>(s, xp, packed.data(), padded_bias.data(), n, oy, y);
}

// Row vectors per register block: as many of the row's as the accumulator budget allows.
template <int OB>
void forward_with_filters(const ConvShape& s, const float* x, const float* weight, const float* bias, float* y) {
  constexpr int kMaxVectors = std::max(1, std::min(3, kVectorRegisters * 3 / 4 / OB));
  const int64_t vectors = std::min<int64_t>((s.wo + L - 1) / L, kMaxVectors);
  if (vectors == 3) return forward_blocked<OB, std::min(3, kMaxVectors)>(s, x, weight, bias, y);
  if (vectors == 2) return forward_blocked<OB, std::min(2, kMaxVectors)>(s, x, weight, bias, y);
  forward_blocked<OB, 1>(s, x, weight, bias, y);
}

// Filters per register block: the fewest padded filters, the larger block on a tie.
int filters_per_block(int64_t o) {
  int best = 8;
  for (int ob : {8, 6, 4})
    if (round_up(o, ob) < round_up(o, best)) best = ob;
  return best;
}

void add_to(float* sum, V v) { vec::store(sum, vec::load<V>(sum) + v); }

// Weight gradient of one image for input channel c: OB filters times IB kernel rows times KW
// kernel columns of accumulators stay in registers while the input's rows stream past. Input row
// r meets kernel row i at output row r - i, so each input vector loaded (KW shifts of a row) feeds
// OB x IB x KW multiply-adds. At the end the sums go to the thread's per-lane partial sums
// `partial` ([o][c][i][j] vectors).
template <int KW>
void weight_gradient_channel(const ConvShape& s, const PaddedInput& xp, const float* dy, int64_t n, int64_t c,
                             float* partial) {
  constexpr int kRegisters = kVectorRegisters - 1;
  constexpr int IB = std::min(KW, (kRegisters - KW - 1) / KW);
  constexpr int OB = std::min(8, std::max(1, (kRegisters - KW - 1) / (IB * KW)));
  for (int64_t o0 = 0; o0 < s.o; o0 += OB)
    for (int64_t i0 = 0; i0 < s.kh; i0 += IB) {
      V acc[OB][IB][KW];
#pragma GCC unroll 8
      for (int b = 0; b < OB; ++b)
#pragma GCC unroll 8
        for (int ib = 0; ib < IB; ++ib)
#pragma GCC unroll 8
          for (int j = 0; j < KW; ++j) acc[b][ib][j] = vec::splat<V>(0.0f);
      const int filters = int(std::min<int64_t>(OB, s.o - o0)), kernel_rows = int(std::min<int64_t>(IB, s.kh - i0));
      const int64_t plane = s.ho * s.wo;
      // Vectors of the row outermost: the tail's mask is then fixed for the whole inner loop.
      for (int64_t x0 = 0; x0 < s.wo; x0 += L) {
        const int64_t count = std::min<int64_t>(L, s.wo - x0);  // masked loads: dy is zero past the row
        for (int64_t r = i0; r < i0 + s.ho + kernel_rows - 1; ++r) {
          const float* row = xp.row(n, c, r) + x0;
          const float* dy_row = dy + ((n * s.o + o0) * s.ho + r - i0) * s.wo + x0;  // filter o0, output row r - i0
          V xv[KW];
#pragma GCC unroll 8
          for (int j = 0; j < KW; ++j) {
            xv[j] = vec::load<V>(row + j);
            asm("" : "+v"(xv[j]));  // keep it in a register: GCC would reload it for every use
          }
          // Loops over registers run to compile-time bounds, so the arrays stay in registers.
#pragma GCC unroll 8
          for (int b = 0; b < OB; ++b)
#pragma GCC unroll 8
            for (int ib = 0; ib < IB; ++ib) {
              const int64_t oy = r - i0 - ib;  // kernel row i0 + ib meets input row r at output row oy
              if (b >= filters || ib >= kernel_rows || oy < 0 || oy >= s.ho) continue;
              const V d = vec::load_first<V>(dy_row + b * plane - ib * s.wo, count);
#pragma GCC unroll 8
              for (int j = 0; j < KW; ++j) acc[b][ib][j] = vec::fmadd(d, xv[j], acc[b][ib][j]);
            }
        }
      }
#pragma GCC unroll 8
      for (int b = 0; b < OB; ++b)
#pragma GCC unroll 8
        for (int ib = 0; ib < IB; ++ib)
#pragma GCC unroll 8
          for (int j = 0; j < KW; ++j)
            if (b < filters && ib < kernel_rows)
              add_to(partial + ((((o0 + b) * s.c + c) * s.kh + i0 + ib) * KW + j) * L, acc[b][ib][j]);
    }
}

template <int KW>
void backward_weights_width(const ConvShape& s, const float* x, const float* dy, float* dweight, float* dbias) {
  const PaddedInput xp(s, x, round_up(s.wo, L));
  const int64_t taps = s.c * s.kh * KW, plane = s.ho * s.wo;
  const int threads = s.n * plane * s.o * taps > kParallelGrain ? std::min<int>(num_threads(), int(s.n)) : 1;
  // Per thread, per-lane partial sums for every weight and bias, summed across lanes and threads
  // at the end in a fixed order.
  const int64_t partial_vectors = s.o * taps + s.o;
  PooledBuffer<float> partials(size_t(threads * partial_vectors * L));
#pragma omp parallel num_threads(threads)
  {
    float* partial = partials.data() + omp_get_thread_num() * partial_vectors * L;
    float* bias_partial = partial + s.o * taps * L;
    std::fill(partial, partial + partial_vectors * L, 0.0f);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < s.n; ++n) {
      for (int64_t c = 0; c < s.c; ++c) weight_gradient_channel<KW>(s, xp, dy, n, c, partial);
      for (int64_t o = 0; o < s.o; ++o) {
        const float* dy_plane = dy + (n * s.o + o) * plane;
        V sum = vec::splat<V>(0.0f);
        int64_t k = 0;
        for (; k + L <= plane; k += L) sum = sum + vec::load<V>(dy_plane + k);
        if (k < plane) sum = sum + vec::load_first<V>(dy_plane + k, plane - k);
        add_to(bias_partial + o * L, sum);
      }
    }
  }
  auto lane_sum = [&](int64_t index) {
    float total = 0;
    for (int t = 0; t < threads; ++t)
      for (int64_t lane = 0; lane < L; ++lane) total += partials.data()[(t * partial_vectors + index) * L + lane];
    return total;
  };
  for (int64_t k = 0; k < s.o * taps; ++k) dweight[k] = lane_sum(k);
  if (dbias)
    for (int64_t o = 0; o < s.o; ++o) dbias[o] = lane_sum(s.o * taps + o);
}

double pass_flops(const ConvShape& s) {
  return 2.0 * double(s.n) * double(s.o) * double(s.ho * s.wo) * double(s.c) * double(s.kh * s.kw);
}

}  // namespace

bool direct_conv_applies(const ConvShape& s) {
  return s.groups == 1 && s.c <= 4 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 && s.kw <= kMaxKernelWidth;
}

void direct_conv_forward(const ConvShape& s, const float* x, const float* weight, const float* bias, float* y) {
  switch (filters_per_block(s.o)) {
    case 4: forward_with_filters<4>(s, x, weight, bias, y); break;
    case 6: forward_with_filters<6>(s, x, weight, bias, y); break;
    default: forward_with_filters<8>(s, x, weight, bias, y); break;
  }
  profiler::add_flops(pass_flops(s));
}

void direct_conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dweight, float* dbias) {
  switch (s.kw) {
    case 1: backward_weights_width<1>(s, x, dy, dweight, dbias); break;
    case 2: backward_weights_width<2>(s, x, dy, dweight, dbias); break;
    case 3: backward_weights_width<3>(s, x, dy, dweight, dbias); break;
    case 4: backward_weights_width<4>(s, x, dy, dweight, dbias); break;
    case 5: backward_weights_width<5>(s, x, dy, dweight, dbias); break;
    case 6: backward_weights_width<6>(s, x, dy, dweight, dbias); break;
    default: backward_weights_width<7>(s, x, dy, dweight, dbias); break;
  }
  profiler::add_flops(pass_flops(s));
}

#endif

}  // namespace nabla::kernels
