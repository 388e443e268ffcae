// Fused recurrent sequences (Elman RNN, LSTM, GRU): one layer and direction over all timesteps,
// forward and backward through time, with PyTorch's gate order and equations. No autograd here.
#pragma once
#include <cstdint>

namespace nabla::kernels {

enum class RecurrentCell { rnn_tanh, rnn_relu, lstm, gru };

// Gate blocks stacked in the weights: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).
int64_t recurrent_gate_count(RecurrentCell cell);
const char* recurrent_cell_name(RecurrentCell cell);

struct RecurrentShape {
  RecurrentCell cell;
  int64_t steps, batch, hidden;  // steps >= 1
  bool reverse = false;          // walks time from the last position to the first (the backward direction)
};

// Floats forward keeps for backward: the gate activations of every step (and LSTM's cell
// states and their tanh, GRU's recurrent n-projection); RNN needs only its outputs.
int64_t recurrent_saved_size(const RecurrentShape& s);

// x_gates [T, B, G*H]: the input projection x W_ih^T + b_ih of every step, computed beforehand
// in one GEMM. w_hh [G*H, H]; b_hh [G*H] or null; h0 [B, H]; c0 [B, H] (LSTM only).
// Writes out [T, B, H] (h at each time position), c_n [B, H] (LSTM only) and, unless null,
// saved[recurrent_saved_size(s)].
void recurrent_forward(const RecurrentShape& s, const float* x_gates, const float* w_hh, const float* b_hh,
                       const float* h0, const float* c0, float* out, float* c_n, float* saved);

// Backward through time from d_out [T, B, H] (the gradient of every output, h_n's included at
// its position) and d_c_n [B, H] (LSTM; null = zero). Overwrites d_x_gates [T, B, G*H],
// d_h0 [B, H], d_c0 [B, H] (LSTM), and d_w_hh [G*H, H], d_b_hh [G*H] when they are not null.
void recurrent_backward(const RecurrentShape& s, const float* w_hh, const float* h0, const float* c0, const float* out,
                        const float* saved, const float* d_out, const float* d_c_n, float* d_x_gates, float* d_h0,
                        float* d_c0, float* d_w_hh, float* d_b_hh);

}  // namespace nabla::kernels
