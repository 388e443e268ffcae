// Recurrent sequences as differentiable ops: one layer and direction of RNN, LSTM or GRU over a
// whole sequence as a single autograd node whose backward runs backward through time. nn::RNN,
// LSTM and GRU are built from these.
#pragma once
#include "nabla/core/tensor.h"
#include "nabla/kernels/rnn_cells.h"

namespace nabla {

using kernels::RecurrentCell;

struct RecurrentSequence {
  Tensor output;  // [T, B, H]
  Tensor h_n;     // [B, H]: h at the last step this direction visits
  Tensor c_n;     // [B, H], LSTM only
};

// One layer and direction over a whole sequence as a single autograd node whose backward runs
// backward through time from the saved gate activations. x_gates [T, B, G*H] is the input
// projection x W_ih^T + b_ih of every step (one GEMM, done by the caller); h0 [B, H]; c0 [B, H]
// for LSTM; w_hh [G*H, H]; b_hh [G*H] or undefined. reverse walks time from the last position.
RecurrentSequence recurrent_sequence(RecurrentCell cell, const Tensor& x_gates, const Tensor& h0, const Tensor& c0,
                                     const Tensor& w_hh, const Tensor& b_hh, bool reverse = false);

// The same for LSTM and GRU on oneDNN's RNN primitives, from the layer input x [T, B, I] and the
// layer's weights in PyTorch's layout (biases both defined or both undefined). nn::RecurrentBase picks
// this or recurrent_sequence per shape (kernels::recurrent_uses_onednn).
RecurrentSequence onednn_recurrent_sequence(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                            const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                                            const Tensor& b_hh, bool reverse = false);

}  // namespace nabla
