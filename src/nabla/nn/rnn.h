// Recurrent layers RNN, LSTM and GRU with PyTorch's parameter names, gate orders, shapes and
// initialisation; each layer and direction runs as one fused autograd op (ops/recurrent.h).
#pragma once
#include <string>
#include <vector>

#include "nabla/nn/module.h"
#include "nabla/ops/recurrent.h"

namespace nabla::nn {

using nabla::RecurrentCell;
using nabla::RecurrentSequence;

struct RecurrentOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // input and output [B, T, features] instead of [T, B, features]
  double dropout = 0.0;      // on the outputs of every layer but the last, in training mode only
  bool bidirectional = false;
  bool return_sequences = true;       // false: the single-input forward returns last_output (Keras)
  std::string nonlinearity = "tanh";  // RNN only: "tanh" or "relu"
};

struct RecurrentOutput {
  Tensor output;  // [T, B, D*H] ([B, T, D*H] if batch_first; [T, D*H] for an unbatched input)
  Tensor h_n;     // [num_layers*D, B, H] (never batch-first, as in PyTorch)
  Tensor c_n;     // same shape as h_n, LSTM only
};

// What RNN, LSTM and GRU share (PyTorch's RNNBase). Parameters per layer k and direction:
// weight_ih_l{k}[_reverse] [G*H, in], weight_hh_l{k} [G*H, H], bias_ih_l{k}, bias_hh_l{k} [G*H].
class RecurrentBase : public Module {
 public:
  // x: [T, B, input_size] ([B, T, ...] if batch_first) or unbatched [T, input_size].
  // h0, c0: [num_layers*D, B, H] ([num_layers*D, H] unbatched); undefined = zeros.
  RecurrentOutput forward(const Tensor& x, const Tensor& h0, const Tensor& c0 = Tensor());
  // The output sequence (or last_output when return_sequences is false), for nn::Sequential.
  Tensor forward(const Tensor& x) override;
  // Keras' return_sequences=False: the last layer's final state, [B, D*H] ([D*H] unbatched). For
  // a bidirectional layer that is the forward direction's last step joined with the backward
  // direction's first, not output[-1] (where the backward direction has seen one step).
  Tensor last_output(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor());
  std::string extra_repr() const override;

  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;  // b_* undefined without bias
  };
  const Weights& weights(int64_t layer, bool reverse = false) const;

  const RecurrentCell cell;
  const int64_t input_size, hidden_size;
  const RecurrentOptions options;
  int64_t num_directions() const { return options.bidirectional ? 2 : 1; }

 protected:
  RecurrentBase(const char* type, RecurrentCell cell, int64_t input_size, int64_t hidden_size,
                const RecurrentOptions& options);

 private:
  Tensor final_state(const RecurrentOutput& result, bool batched) const;
  std::vector<Weights> weights_;  // index layer * D + direction
};

// Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu via options.nonlinearity).
class RNN : public RecurrentBase {
 public:
  RNN(int64_t input_size, int64_t hidden_size, const RecurrentOptions& options = {});
};

// LSTM with gates i, f, g, o: c' = f c + i g, h' = o tanh(c').
class LSTM : public RecurrentBase {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, const RecurrentOptions& options = {});
};

// GRU with gates r, z, n: n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h.
class GRU : public RecurrentBase {
 public:
  GRU(int64_t input_size, int64_t hidden_size, const RecurrentOptions& options = {});
};

}  // namespace nabla::nn
