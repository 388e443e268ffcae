#include "nabla/kernels/rnn_cells.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/matmul.h"
#include "nabla/kernels/packed_gemm.h"
#include "nabla/kernels/parallel.h"
#include "nabla/kernels/strided_copy.h"
#include "nabla/kernels/vec_math.h"

namespace nabla::kernels {
namespace {

// The cell math is a few dozen flops per element, so it pays to split rows across threads well
// before the element-wise grain.
constexpr int64_t kCellParallelGrain = 1 << 13;

template <typename RowFn>
void for_each_row(int64_t rows, int64_t row_width, RowFn fn) {
  if (rows * row_width <= kCellParallelGrain) {
    for (int64_t r = 0; r < rows; ++r) fn(r);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) fn(r);
}

// Rows of the batch never meet in a recurrence. The recurrent weight is packed once per sequence,
// and every thread runs the whole sequence for its own slice of the batch: no barrier per step and
// no per-product set-up (oneDNN's sgemm re-packs the weight, and allocates, on every call). Each
// thread streams the packed weight once per step, from L2 or the shared L3; measured at 2 threads:
// LSTM 128 (256 KB, lstm_text) 65 -> 55 ms per step, GRU 512 (3 MB, char GRU) 594 -> 484 ms, and
// GRU 1024 (12 MB) level with oneDNN's RNN primitive, which keeps that size. Packing costs about
// nine rows of products, so a sequence of fewer than 64 rows in all (decoding one token at a
// time) keeps the plain threaded GEMM.
constexpr int64_t kPackedWeightBytes = int64_t(16) << 20;
constexpr int64_t kMinPackedRows = 64;
constexpr int64_t kMinSliceRows = 8;
// A weight larger than this is split by hidden units instead: each thread packs and streams only
// its units' part, for all of the batch, and the threads meet at a barrier once per step. For the
// char GRU (GRU 512, 3 MB) each thread's half then stays in a 2 MB L2: its training step measured
// 356 -> 328 ms (medians of 6 interleaved runs on a 2-core Xeon; the host's noise is about 15%).
constexpr int64_t kUnitSplitBytes = int64_t(1) << 20;
constexpr int64_t kMinSliceUnits = 32;

bool packs_weight(const RecurrentShape& s) {
  return recurrent_gate_count(s.cell) * s.hidden * s.hidden * int64_t(sizeof(float)) <= kPackedWeightBytes &&
         s.steps * s.batch >= kMinPackedRows;
}

// One thread's share of a sequence: batch rows [b0, b1) and hidden units [u0, u1), one of them
// whole. `packed` is its packed weight (null: each step's product runs on oneDNN across the team).
struct Slice {
  int64_t b0, b1, u0, u1;
  const PackedWeight* packed;
  bool by_units;  // the threads share each step's rows, so they wait for each other every step
  int64_t units() const { return u1 - u0; }
  void step_done() const {
    if (by_units) {
#pragma omp barrier
    }
  }
};

// Threads that split a sequence by hidden units (0: by batch rows, or not at all).
int unit_slices(const RecurrentShape& s) {
  const int64_t bytes = recurrent_gate_count(s.cell) * s.hidden * s.hidden * int64_t(sizeof(float));
  if (!packs_weight(s) || bytes <= kUnitSplitBytes) return 0;
  const int slices = int(std::min<int64_t>(num_threads(), s.hidden / kMinSliceUnits));
  return slices > 1 ? slices : 0;
}

// Hidden units [u0, u1) of slice i of n, at multiples of 16 so the vector loops stay whole.
std::pair<int64_t, int64_t> units_of(int64_t hidden, int i, int n) {
  auto edge = [&](int k) { return k == n ? hidden : (hidden * k / n) / 16 * 16; };
  return {edge(i), edge(i + 1)};
}

// W_hh as PackedWeight reads it: B[j][q] = b[j * n_stride + q * k_stride].
struct WeightView {
  const float* b;
  int64_t n, k, n_stride, k_stride;
};

// Runs fn(Slice) on every thread of the split: by units when the weight is large (`pack_units`
// packs a thread's part), else by batch rows beside the whole weight packed once (one slice per
// thread, or the calling thread alone when the batch is too small to split), else all on the
// calling thread without packing (a sequence too short to pay for it).
template <typename PackUnits, typename SliceFn>
void over_slices(const RecurrentShape& s, const WeightView& whole, PackUnits pack_units, SliceFn fn) {
  if (const int slices = unit_slices(s)) {
#pragma omp parallel num_threads(slices)
    {
      const auto [u0, u1] = units_of(s.hidden, omp_get_thread_num(), omp_get_num_threads());
      const PackedWeight packed = pack_units(u0, u1);
      fn(Slice{0, s.batch, u0, u1, &packed, true});
    }
    return;
  }
  if (!packs_weight(s)) {
    fn(Slice{0, s.batch, 0, s.hidden, nullptr, false});
    return;
  }
  const PackedWeight packed(whole.b, whole.n, whole.k, whole.n_stride, whole.k_stride);
  const int slices = int(std::clamp<int64_t>(s.batch / kMinSliceRows, 1, num_threads()));
  if (slices <= 1) {
    fn(Slice{0, s.batch, 0, s.hidden, &packed, false});
    return;
  }
#pragma omp parallel num_threads(slices)
  {
    const int64_t slice = omp_get_thread_num(), count = omp_get_num_threads();
    fn(Slice{s.batch * slice / count, s.batch * (slice + 1) / count, 0, s.hidden, &packed, false});
  }
}

// The rows of a slice's step: one after another on this thread beside a packed weight, else
// across the team.
template <typename RowFn>
void each_row(const Slice& slice, int64_t row_width, RowFn fn) {
  if (slice.packed) {
    for (int64_t b = slice.b0; b < slice.b1; ++b) fn(b);
  } else {
    for_each_row(slice.b1 - slice.b0, row_width, [&](int64_t r) { fn(slice.b0 + r); });
  }
}

MatrixOperand plain(const float* data, int64_t row_stride) { return {data, DType::f32, 1, 0, row_stride, 1}; }
MatrixOperand transposed(const float* data, int64_t row_stride) { return {data, DType::f32, 1, 0, 1, row_stride}; }

// C[m, n] (+)= A[m, k] B^T with B stored [n, k] at b, C rows ldc apart: by the packed copy of B on
// this thread when there is one, else by oneDNN across the team (C contiguous, ldc == n).
void step_product(const PackedWeight* packed, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                  int64_t m, int64_t k, int64_t n, bool accumulate = false) {
  if (packed)
    packed->multiply(a, lda, m, c, ldc, accumulate);
  else
    matmul(plain(a, lda), transposed(b, k), c, 1, m, k, n, accumulate);
}

// x[i] = f(x[i]) in place: `vector_f` over whole vectors, `scalar_f` over the tail.
template <typename VectorF, typename ScalarF>
[[gnu::always_inline]] inline void map_span(float* x, int64_t n, [[maybe_unused]] VectorF vector_f, ScalarF scalar_f) {
  int64_t i = 0;
#ifdef NABLA_AVX2
  i = vec::over_vectors(
      0, n, [x, vector_f](int64_t j, auto v) { vec::store(x + j, vector_f(vec::load<decltype(v)>(x + j))); });
#endif
  for (; i < n; ++i) x[i] = scalar_f(x[i]);
}

void sigmoid_span(float* x, int64_t n) {
  map_span(
      x, n, [](auto v) { return vec::sigmoid(v); }, vec::sigmoid_scalar);
}

void tanh_span(float* x, int64_t n) {
  map_span(
      x, n, [](auto v) { return vec::tanh(v); }, vec::tanh_scalar);
}

// Pre-activations: the step's input projection plus the recurrent projection plus b_hh.
void sum_projections(float* dst, const float* x, const float* hh, const float* bias, int64_t n) {
  if (bias) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) dst[j] = x[j] + hh[j] + bias[j];
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) dst[j] = x[j] + hh[j];
  }
}

// Time positions in processing order: step 0 is the first position the direction visits.
struct TimeOrder {
  int64_t steps;
  bool reverse;
  int64_t position(int64_t step) const { return reverse ? steps - 1 - step : step; }
};

}  // namespace

int64_t recurrent_gate_count(RecurrentCell cell) {
  switch (cell) {
    case RecurrentCell::rnn_tanh:
    case RecurrentCell::rnn_relu: return 1;
    case RecurrentCell::lstm: return 4;
    case RecurrentCell::gru: return 3;
  }
  return 0;
}

const char* recurrent_cell_name(RecurrentCell cell) {
  switch (cell) {
    case RecurrentCell::rnn_tanh: return "RNN_TANH";
    case RecurrentCell::rnn_relu: return "RNN_RELU";
    case RecurrentCell::lstm: return "LSTM";
    case RecurrentCell::gru: return "GRU";
  }
  return "?";
}

int64_t recurrent_saved_size(const RecurrentShape& s) {
  const int64_t bh = s.steps * s.batch * s.hidden;
  switch (s.cell) {
    case RecurrentCell::rnn_tanh:
    case RecurrentCell::rnn_relu: return 0;
    case RecurrentCell::lstm: return 6 * bh;  // i, f, g, o activations, then c, then tanh(c)
    case RecurrentCell::gru: return 4 * bh;   // r, z, n activations, then W_hn h + b_hn
  }
  return 0;
}

void recurrent_forward(const RecurrentShape& s, const float* x_gates, const float* w_hh, const float* b_hh,
                       const float* h0, const float* c0, float* out, float* c_n, float* saved) {
  const int64_t T = s.steps, B = s.batch, H = s.hidden, G = recurrent_gate_count(s.cell), GH = G * H, BH = B * H;
  NABLA_CHECK(T > 0, recurrent_cell_name(s.cell), ": a sequence needs at least one step");
  if (BH == 0) return;
  const TimeOrder order{T, s.reverse};
  const bool lstm = s.cell == RecurrentCell::lstm, gru = s.cell == RecurrentCell::gru;
  // Without `saved` (inference) one step's activations live in scratch and are overwritten.
  Tensor scratch = saved ? Tensor() : Tensor::empty({B * GH + 3 * BH});
  // LSTM: c per position, then tanh(c) per position; GRU: hn per position.
  float* extra = saved ? saved + T * B * GH : nullptr;
  auto gates_at = [&](int64_t t) { return saved ? saved + t * B * GH : scratch.data<float>(); };
  auto extra_at = [&](int64_t t, int64_t step) {
    return saved ? extra + t * BH : scratch.data<float>() + B * GH + (step % 2) * BH;
  };

  if (packs_weight(s)) profiler::add_flops(2.0 * double(T * B) * double(H) * double(GH));  // the slices' products
  // A unit slice's part of W_hh: the rows of its units in every gate block, gate after gate.
  auto pack_units = [&](int64_t u0, int64_t u1) {
    const int64_t U = u1 - u0;
    PooledBuffer<float> rows(size_t(G * U * H));
    for (int64_t k = 0; k < G; ++k)
      std::memcpy(rows.data() + k * U * H, w_hh + (k * H + u0) * H, size_t(U * H) * sizeof(float));
    return PackedWeight(rows.data(), G * U, H, H, 1);
  };
  over_slices(s, {w_hh, GH, H, H, 1}, pack_units, [&](const Slice& slice) {
    const int64_t b0 = slice.b0, b1 = slice.b1, u0 = slice.u0, U = slice.units(), GU = G * U;
    // The step's recurrent projection of the slice's rows and units, [b1 - b0, G*U].
    PooledBuffer<float> projection(size_t((b1 - b0) * GU));
    float* hh = projection.data();
    for (int64_t step = 0; step < T; ++step) {
      const int64_t t = order.position(step), t_prev = order.position(step - 1);
      const float* h_prev = step == 0 ? h0 : out + t_prev * BH;
      step_product(slice.packed, h_prev + b0 * H, H, w_hh, hh, GU, b1 - b0, H, GU);
      const float* xg = x_gates + t * B * GH;
      float* gates = gates_at(t);
      float* h = out + t * BH;
      // Row b's pointers start at unit u0; gate blocks are H apart in x_gates, gates and b_hh, U in hh.
      auto bias = [&](int64_t k) { return b_hh ? b_hh + k * H + u0 : nullptr; };
      if (lstm) {
        float* c = extra_at(t, step);
        const float* c_prev = step == 0 ? c0 : extra_at(t_prev, step - 1);
        each_row(slice, GH, [&](int64_t b) {
          float* g = gates + b * GH + u0;
          const float *x = xg + b * GH + u0, *r = hh + (b - b0) * GU;
          for (int64_t k = 0; k < 4; ++k) sum_projections(g + k * H, x + k * H, r + k * U, bias(k), U);
          sigmoid_span(g, U);          // i
          sigmoid_span(g + H, U);      // f
          tanh_span(g + 2 * H, U);     // g
          sigmoid_span(g + 3 * H, U);  // o
          const float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H, *cp = c_prev + b * H + u0;
          float *cb = c + b * H + u0, *hb = h + b * H + u0;
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) {
            cb[j] = gf[j] * cp[j] + gi[j] * gg[j];
            hb[j] = cb[j];
          }
          tanh_span(hb, U);
          if (saved) std::memcpy(extra + (T + t) * BH + b * H + u0, hb, size_t(U) * sizeof(float));
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) hb[j] *= go[j];
          if (step == T - 1) std::memcpy(c_n + b * H + u0, cb, size_t(U) * sizeof(float));
        });
      } else if (gru) {
        float* hn = extra_at(t, step);
        each_row(slice, GH, [&](int64_t b) {
          float* g = gates + b * GH + u0;
          const float *x = xg + b * GH + u0, *r = hh + (b - b0) * GU, *hp = h_prev + b * H + u0;
          float *hnb = hn + b * H + u0, *hb = h + b * H + u0;
          sum_projections(g, x, r, bias(0), U);
          sum_projections(g + H, x + H, r + U, bias(1), U);
          sigmoid_span(g, U);      // r
          sigmoid_span(g + H, U);  // z
          if (b_hh) {
            const float* bn = bias(2);
#pragma omp simd
            for (int64_t j = 0; j < U; ++j) hnb[j] = r[2 * U + j] + bn[j];
          } else {
            std::memcpy(hnb, r + 2 * U, size_t(U) * sizeof(float));
          }
          // n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): the reset gate scales the recurrent part only.
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) g[2 * H + j] = x[2 * H + j] + g[j] * hnb[j];
          tanh_span(g + 2 * H, U);
          const float *gz = g + H, *gn = g + 2 * H;
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) hb[j] = gn[j] + gz[j] * (hp[j] - gn[j]);  // (1 - z) n + z h
        });
      } else {
        const bool relu = s.cell == RecurrentCell::rnn_relu;
        each_row(slice, GH, [&](int64_t b) {
          float* hb = h + b * H + u0;
          sum_projections(hb, xg + b * H + u0, hh + (b - b0) * GU, bias(0), U);
          if (relu) {
#pragma omp simd
            for (int64_t j = 0; j < U; ++j) hb[j] = hb[j] > 0.0f ? hb[j] : 0.0f;
          } else {
            tanh_span(hb, U);
          }
        });
      }
      slice.step_done();
    }
  });
}

namespace {

// One step of backward through time, for one batch row and its units [u0, u0 + U) (pointers start
// at u0; gate blocks are H apart): the gate gradients d from dL/dh (d_out plus the carried part),
// and the carries updated for the step before.

// LSTM: c = f c_prev + i g, h = o tanh(c).
inline void lstm_row_backward(const float* gates, const float* c_prev, const float* tanh_c, const float* d_out,
                              float* dh_carry, float* dc_carry, float* d, int64_t H, int64_t U) {
  const float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
#pragma omp simd
  for (int64_t j = 0; j < U; ++j) {
    const float tc = tanh_c[j], dh = d_out[j] + dh_carry[j];
    const float dc = dc_carry[j] + dh * go[j] * (1.0f - tc * tc);
    d[j] = dc * gg[j] * gi[j] * (1.0f - gi[j]);
    d[H + j] = dc * c_prev[j] * gf[j] * (1.0f - gf[j]);
    d[2 * H + j] = dc * gi[j] * (1.0f - gg[j] * gg[j]);
    d[3 * H + j] = dh * tc * go[j] * (1.0f - go[j]);
    dc_carry[j] = dc * gf[j];
  }
}

// GRU: n = tanh(x_n + r (W_hn h_prev + b_hn)), h = (1 - z) n + z h_prev. d_rec gets the gradients of
// the recurrent pre-activations, where the reset gate scales the n block.
inline void gru_row_backward(const float* gates, const float* hn, const float* h_prev, const float* d_out,
                             float* dh_carry, float* d, float* d_rec, int64_t H, int64_t U) {
  const float *gr = gates, *gz = gates + H, *gn = gates + 2 * H;
#pragma omp simd
  for (int64_t j = 0; j < U; ++j) {
    const float dh = d_out[j] + dh_carry[j];
    const float dn = dh * (1.0f - gz[j]) * (1.0f - gn[j] * gn[j]);
    const float dz = dh * (h_prev[j] - gn[j]) * gz[j] * (1.0f - gz[j]);
    const float drr = dn * hn[j] * gr[j] * (1.0f - gr[j]);
    d[j] = drr;
    d[H + j] = dz;
    d[2 * H + j] = dn;
    d_rec[j] = drr;
    d_rec[H + j] = dz;
    d_rec[2 * H + j] = dn * gr[j];
    dh_carry[j] = dh * gz[j];  // the direct path to h_prev
  }
}

// Elman RNN: h = tanh(pre) or relu(pre).
inline void rnn_row_backward(const float* h, const float* d_out, const float* dh_carry, float* d, bool relu,
                             int64_t U) {
  if (relu) {
#pragma omp simd
    for (int64_t j = 0; j < U; ++j) d[j] = h[j] > 0.0f ? d_out[j] + dh_carry[j] : 0.0f;
  } else {
#pragma omp simd
    for (int64_t j = 0; j < U; ++j) d[j] = (d_out[j] + dh_carry[j]) * (1.0f - h[j] * h[j]);
  }
}

// d_b_hh[j] = sum over the rows of d_hh[r, j].
void column_sums(const float* d_hh, int64_t rows, int64_t GH, float* d_b_hh) {
  constexpr int64_t block = 256;
#pragma omp parallel for if (rows * GH > kParallelGrain) schedule(static)
  for (int64_t j0 = 0; j0 < GH; j0 += block) {
    const int64_t width = std::min(block, GH - j0);
    float acc[block];
    std::fill(acc, acc + width, 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = d_hh + r * GH + j0;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) acc[j] += row[j];
    }
    std::memcpy(d_b_hh + j0, acc, size_t(width) * sizeof(float));
  }
}

}  // namespace

void recurrent_backward(const RecurrentShape& s, const float* w_hh, const float* h0, const float* c0, const float* out,
                        const float* saved, const float* d_out, const float* d_c_n, float* d_x_gates, float* d_h0,
                        float* d_c0, float* d_w_hh, float* d_b_hh) {
  const int64_t T = s.steps, B = s.batch, H = s.hidden, G = recurrent_gate_count(s.cell), GH = G * H, BH = B * H;
  const TimeOrder order{T, s.reverse};
  const bool lstm = s.cell == RecurrentCell::lstm, gru = s.cell == RecurrentCell::gru;
  NABLA_CHECK(saved || recurrent_saved_size(s) == 0, recurrent_cell_name(s.cell),
              " backward: the forward pass saved no activations (it ran without gradient recording)");
  NABLA_CHECK(T > 0, recurrent_cell_name(s.cell), ": a sequence needs at least one step");
  if (BH == 0) {  // an empty batch: nothing flows back, the weight gradients are zero
    if (d_w_hh) std::fill(d_w_hh, d_w_hh + GH * H, 0.0f);
    if (d_b_hh) std::fill(d_b_hh, d_b_hh + GH, 0.0f);
    return;
  }
  // d_h carried from a step to the one before it (the recurrent part of dL/dh), and LSTM's d_c.
  float* dh_carry = d_h0;
  std::fill(dh_carry, dh_carry + BH, 0.0f);
  if (lstm) {
    if (d_c_n)
      std::memcpy(d_c0, d_c_n, size_t(BH) * sizeof(float));
    else
      std::fill(d_c0, d_c0 + BH, 0.0f);
  }
  float* dc_carry = d_c0;
  // Gradients of the recurrent pre-activations: the same as the input ones except GRU's n block,
  // where the reset gate scales the recurrent projection only.
  Tensor d_hh_buffer = gru ? Tensor::empty({T, B, GH}) : Tensor();
  float* d_hh = gru ? d_hh_buffer.data<float>() : d_x_gates;
  const float* extra = saved ? saved + T * B * GH : nullptr;
  // d_h_prev = d_gates @ W_hh: packed as W_hh^T; or for oneDNN's GEMM, which runs this skinny
  // product about 1.8x faster with the weight stored transposed (measured 150 vs 83 GFLOP/s for
  // [64, 3072] x [3072, 1024]), a transposed copy, made once per sequence.
  Tensor w_t_buffer;
  if (packs_weight(s)) {
    profiler::add_flops(2.0 * double(T * B) * double(GH) * double(H));  // the slices' products
  } else {
    w_t_buffer = Tensor::empty({H, GH});
    transpose(w_hh, H, GH, H, w_t_buffer.data<float>(), GH);
  }
  const float* w_t = w_t_buffer.defined() ? w_t_buffer.data<float>() : nullptr;
  // A unit slice's part of W_hh^T: the columns of its units.
  auto pack_units = [&](int64_t u0, int64_t u1) { return PackedWeight(w_hh + u0, u1 - u0, GH, 1, H); };

  over_slices(s, {w_hh, H, GH, 1, H}, pack_units, [&](const Slice& slice) {
    const int64_t b0 = slice.b0, b1 = slice.b1, u0 = slice.u0, U = slice.units();
    // d_h_prev of the slice's rows and units (+)= the gate gradients of its rows (all units) @ W_hh.
    auto carry_back = [&](const float* d, bool accumulate) {
      step_product(slice.packed, d + b0 * GH, GH, w_t, dh_carry + b0 * H + u0, H, b1 - b0, GH, U, accumulate);
    };
    for (int64_t step = T - 1; step >= 0; --step) {
      const int64_t t = order.position(step), t_prev = order.position(step - 1);
      const float* h_prev = step == 0 ? h0 : out + t_prev * BH;
      const float* dout_t = d_out + t * BH;
      float* dx = d_x_gates + t * B * GH;
      // Row b's pointers start at unit u0; gate blocks are H apart.
      if (lstm) {
        const float* gates = saved + t * B * GH;
        const float* tanh_cs = extra + (T + t) * BH;  // tanh(c), kept by the forward pass
        const float* c_prev = step == 0 ? c0 : extra + t_prev * BH;
        each_row(slice, GH, [&](int64_t b) {
          lstm_row_backward(gates + b * GH + u0, c_prev + b * H + u0, tanh_cs + b * H + u0, dout_t + b * H + u0,
                            dh_carry + b * H + u0, dc_carry + b * H + u0, dx + b * GH + u0, H, U);
        });
        slice.step_done();
        carry_back(dx, false);
      } else if (gru) {
        const float* gates = saved + t * B * GH;
        const float* hn = extra + t * BH;
        float* dr = d_hh + t * B * GH;
        each_row(slice, GH, [&](int64_t b) {
          gru_row_backward(gates + b * GH + u0, hn + b * H + u0, h_prev + b * H + u0, dout_t + b * H + u0,
                           dh_carry + b * H + u0, dx + b * GH + u0, dr + b * GH + u0, H, U);
        });
        slice.step_done();
        carry_back(dr, /*accumulate=*/true);
      } else {
        const bool relu = s.cell == RecurrentCell::rnn_relu;
        const float* h = out + t * BH;
        each_row(slice, GH, [&](int64_t b) {
          rnn_row_backward(h + b * H + u0, dout_t + b * H + u0, dh_carry + b * H + u0, dx + b * H + u0, relu, U);
        });
        slice.step_done();
        carry_back(dx, false);
      }
    }
  });

  // dW_hh = sum over steps of d_hh(step)^T h_prev(step): the steps whose h_prev is an output are
  // one contiguous block of positions, so that is one GEMM, plus one for the step fed by h0.
  if (d_w_hh) {
    const int64_t first = order.position(0);  // the position fed by h0
    bool accumulate = false;
    if (T > 1) {
      const int64_t dh_from = s.reverse ? 0 : 1, h_from = s.reverse ? 1 : 0;
      matmul(transposed(d_hh + dh_from * B * GH, GH), plain(out + h_from * BH, H), d_w_hh, 1, GH, (T - 1) * B, H);
      accumulate = true;
    }
    matmul(transposed(d_hh + first * B * GH, GH), plain(h0, H), d_w_hh, 1, GH, B, H, accumulate);
  }
  if (d_b_hh) column_sums(d_hh, T * B, GH, d_b_hh);
}

}  // namespace nabla::kernels
