// oneDNN's LSTM and linear-before-reset GRU primitives for one layer and direction, used instead
// of the fused kernels (rnn_cells.h) on the shapes where they measure faster. Weights stay in
// PyTorch's layout and gate order; the reorders and GRU gate swap happen in here. No autograd.
#pragma once
#include <cstddef>
#include <cstdint>

#include "nabla/kernels/rnn_cells.h"

namespace nabla::kernels {

enum class RecurrentBackend { automatic, fused, onednn };
// automatic picks per shape (recurrent_uses_onednn); the others force one path (tests, benchmarks).
void set_recurrent_backend(RecurrentBackend backend);
RecurrentBackend recurrent_backend();

struct OnednnRecurrentShape {
  RecurrentCell cell;  // lstm or gru
  int64_t steps, batch, input, hidden;
  bool reverse = false;
  bool operator==(const OnednnRecurrentShape&) const = default;
};

// Whether this layer runs on oneDNN under the current backend setting.
bool recurrent_uses_onednn(const OnednnRecurrentShape& s);

struct RecurrentWeightPointers {
  const float *w_ih, *w_hh;  // [G*H, input], [G*H, H]
  const float *b_ih, *b_hh;  // [G*H] each, or both null (no bias)
};

// What forward_training keeps for backward (oneDNN's workspace), in bytes.
size_t onednn_recurrent_workspace_bytes(const OnednnRecurrentShape& s);

// x [T, B, I]; h0, c0 [B, H] (c0 LSTM only). Writes out [T, B, H] and c_n [B, H] (LSTM). A null
// workspace runs inference; otherwise it receives onednn_recurrent_workspace_bytes for backward.
void onednn_recurrent_forward(const OnednnRecurrentShape& s, const float* x, const float* h0, const float* c0,
                              const RecurrentWeightPointers& w, float* out, float* c_n, void* workspace);

struct RecurrentGradientPointers {
  float *dx, *dh0, *dc0;                 // [T, B, I], [B, H], [B, H] (LSTM)
  float *dw_ih, *dw_hh, *db_ih, *db_hh;  // may be null when not wanted
};

// d_out [T, B, H] holds every output's gradient (h_n's included at its position); d_c_n [B, H]
// or null. Inputs and workspace as given to (and written by) the training forward.
void onednn_recurrent_backward(const OnednnRecurrentShape& s, const float* x, const float* h0, const float* c0,
                               const RecurrentWeightPointers& w, const float* out, const float* c_n,
                               const void* workspace, const float* d_out, const float* d_c_n,
                               const RecurrentGradientPointers& g);

}  // namespace nabla::kernels
