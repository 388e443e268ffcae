#include "nabla/nn/rnn.h"

#include <cmath>

#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/copy.h"
#include "nabla/kernels/rnn_onednn.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/linalg.h"
#include "nabla/ops/nn_functional.h"
#include "nabla/ops/op_utils.h"
#include "nabla/ops/shape_ops.h"

namespace nabla::nn {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

// ----------------------------------------------------------------------------- the layers

RecurrentBase::RecurrentBase(const char* type, RecurrentCell cell, int64_t input_size, int64_t hidden_size,
                             const RecurrentOptions& options)
    : Module(type), cell(cell), input_size(input_size), hidden_size(hidden_size), options(options) {
  NABLA_CHECK(input_size > 0 && hidden_size > 0, type, ": input_size and hidden_size must be positive, got ",
              input_size, " and ", hidden_size);
  NABLA_CHECK(options.num_layers >= 1, type, ": num_layers must be at least 1, got ", options.num_layers);
  NABLA_CHECK(options.dropout >= 0 && options.dropout < 1, type, ": dropout must be in [0, 1), got ", options.dropout);
  const int64_t gates = kernels::recurrent_gate_count(cell), directions = num_directions();
  // PyTorch's reset_parameters: every weight and bias U(-1/sqrt(hidden), 1/sqrt(hidden)).
  const double bound = 1.0 / std::sqrt(double(hidden_size));
  for (int64_t layer = 0; layer < options.num_layers; ++layer) {
    const int64_t layer_input = layer == 0 ? input_size : hidden_size * directions;
    for (int64_t direction = 0; direction < directions; ++direction) {
      const std::string suffix = "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
      Weights w;
      w.w_ih = register_parameter("weight_ih" + suffix, uniform({gates * hidden_size, layer_input}, -bound, bound));
      w.w_hh = register_parameter("weight_hh" + suffix, uniform({gates * hidden_size, hidden_size}, -bound, bound));
      if (options.bias) {
        w.b_ih = register_parameter("bias_ih" + suffix, uniform({gates * hidden_size}, -bound, bound));
        w.b_hh = register_parameter("bias_hh" + suffix, uniform({gates * hidden_size}, -bound, bound));
      }
      weights_.push_back(w);
    }
  }
}

const RecurrentBase::Weights& RecurrentBase::weights(int64_t layer, bool reverse) const {
  NABLA_CHECK(layer >= 0 && layer < options.num_layers && (!reverse || options.bidirectional), type_name(),
              ": no weights for layer ", layer, reverse ? " (reverse)" : "", "; it has ", options.num_layers,
              " layer(s)", options.bidirectional ? " in both directions" : " in one direction");
  return weights_[layer * num_directions() + (reverse ? 1 : 0)];
}

RecurrentOutput RecurrentBase::forward(const Tensor& x, const Tensor& h0, const Tensor& c0) {
  const std::string& type = type_name();
  const bool lstm = cell == RecurrentCell::lstm;
  detail::check_f32(x, type.c_str(), "input");
  NABLA_CHECK(x.dim() == 2 || x.dim() == 3, type, ": input must be [T, B, ", input_size, "]",
              options.batch_first ? " (batch_first: [B, T, ...])" : "", " or unbatched [T, ", input_size, "], got ",
              x.shape());
  NABLA_CHECK(x.shape()[x.dim() - 1] == input_size, type, ": input has ", x.shape()[x.dim() - 1],
              " features in its last dimension but input_size is ", input_size, " (input shape ", x.shape(), ")");
  const bool batched = x.dim() == 3;
  Tensor seq = !batched ? x.unsqueeze(1) : options.batch_first ? x.transpose(0, 1) : x;  // [T, B, in]
  const int64_t steps = seq.shape()[0], batch = seq.shape()[1], directions = num_directions();
  NABLA_CHECK(steps > 0, type, ": the input sequence is empty (shape ", x.shape(), ")");

  // Initial states as [layers * D, B, H].
  auto initial_state = [&](const Tensor& state, const char* name) -> Tensor {
    if (!state.defined()) return Tensor();
    detail::check_f32(state, type.c_str(), name);
    const Shape expected = batched ? Shape({options.num_layers * directions, batch, hidden_size})
                                   : Shape({options.num_layers * directions, hidden_size});
    NABLA_CHECK(state.shape() == expected, type, ": ", name, " must be [num_layers * num_directions, ",
                batched ? "batch, " : "", "hidden_size] = ", expected, " for input ", x.shape(), ", got ",
                state.shape());
    return batched ? state : state.unsqueeze(1);
  };
  const Tensor h_init = initial_state(h0, "h0");
  NABLA_CHECK(lstm || !c0.defined(), type, ": only LSTM takes a cell state c0");
  const Tensor c_init = lstm ? initial_state(c0, "c0") : Tensor();

  std::vector<Tensor> h_finals, c_finals;
  Tensor layer_input = seq;
  for (int64_t layer = 0; layer < options.num_layers; ++layer) {
    std::vector<Tensor> outputs;
    for (int64_t direction = 0; direction < directions; ++direction) {
      const int64_t index = layer * directions + direction;
      const Weights& w = weights_[index];
      Tensor h = h_init.defined() ? h_init.select(0, index) : zeros({batch, hidden_size});
      Tensor c = !lstm ? Tensor() : c_init.defined() ? c_init.select(0, index) : zeros({batch, hidden_size});
      const bool reverse = direction == 1;
      const kernels::OnednnRecurrentShape shape{cell, steps, batch, layer_input.shape()[2], hidden_size, reverse};
      RecurrentSequence r;
      if (kernels::recurrent_uses_onednn(shape)) {
        r = onednn_recurrent_sequence(cell, layer_input, h, c, w.w_ih, w.w_hh, w.b_ih, w.b_hh, reverse);
      } else {
        // All timesteps' input projections in one GEMM; only h W_hh^T is left per step. Where both
        // biases simply add to the pre-activations (not GRU's n gate), the cell adds their sum: no
        // pass over the projections for b_ih, and one column sum of the gate gradients for both.
        const bool one_bias = cell != RecurrentCell::gru && w.b_ih.defined();
        Tensor x_gates = linear(layer_input, w.w_ih, one_bias ? Tensor() : w.b_ih);
        r = recurrent_sequence(cell, x_gates, h, c, w.w_hh, one_bias ? add(w.b_ih, w.b_hh) : w.b_hh, reverse);
      }
      outputs.push_back(r.output);
      h_finals.push_back(r.h_n);
      if (lstm) c_finals.push_back(r.c_n);
    }
    layer_input = directions == 2 ? cat(outputs, 2) : outputs[0];
    if (layer + 1 < options.num_layers && options.dropout > 0 && is_training())
      layer_input = dropout(layer_input, options.dropout, true);
  }

  RecurrentOutput result;
  result.output = !batched ? layer_input.squeeze(1) : options.batch_first ? layer_input.transpose(0, 1) : layer_input;
  result.h_n = stack(h_finals, 0);
  if (lstm) result.c_n = stack(c_finals, 0);
  if (!batched) {
    result.h_n = result.h_n.squeeze(1);
    if (lstm) result.c_n = result.c_n.squeeze(1);
  }
  return result;
}

Tensor RecurrentBase::final_state(const RecurrentOutput& result, bool batched) const {
  // h_n's last D rows are the last layer's directions; joined along the feature dim.
  const int64_t rows = result.h_n.shape()[0];
  if (!options.bidirectional) return result.h_n.select(0, rows - 1);
  return cat({result.h_n.select(0, rows - 2), result.h_n.select(0, rows - 1)}, batched ? 1 : 0);
}

Tensor RecurrentBase::forward(const Tensor& x) {
  RecurrentOutput result = forward(x, Tensor(), Tensor());
  return options.return_sequences ? result.output : final_state(result, x.dim() == 3);
}

Tensor RecurrentBase::last_output(const Tensor& x, const Tensor& h0, const Tensor& c0) {
  return final_state(forward(x, h0, c0), x.dim() == 3);
}

std::string RecurrentBase::extra_repr() const {
  std::string text = std::to_string(input_size) + ", " + std::to_string(hidden_size);
  if (options.num_layers != 1) text += ", num_layers=" + std::to_string(options.num_layers);
  if (cell == RecurrentCell::rnn_relu) text += ", nonlinearity=relu";
  if (!options.bias) text += ", bias=false";
  if (options.batch_first) text += ", batch_first=true";
  if (options.dropout > 0) text += ", dropout=" + std::to_string(options.dropout);
  if (options.bidirectional) text += ", bidirectional=true";
  return text;
}

namespace {

RecurrentCell rnn_cell(const RecurrentOptions& options) {
  NABLA_CHECK(options.nonlinearity == "tanh" || options.nonlinearity == "relu",
              "RNN: nonlinearity must be \"tanh\" or \"relu\", got \"", options.nonlinearity, "\"");
  return options.nonlinearity == "relu" ? RecurrentCell::rnn_relu : RecurrentCell::rnn_tanh;
}

const RecurrentOptions& gated(const char* type, const RecurrentOptions& options) {
  NABLA_CHECK(options.nonlinearity == "tanh", type, ": nonlinearity applies to RNN only; ", type,
              " has fixed gate activations (leave it \"tanh\")");
  return options;
}

}  // namespace

RNN::RNN(int64_t input_size, int64_t hidden_size, const RecurrentOptions& options)
    : RecurrentBase("RNN", rnn_cell(options), input_size, hidden_size, options) {}

LSTM::LSTM(int64_t input_size, int64_t hidden_size, const RecurrentOptions& options)
    : RecurrentBase("LSTM", RecurrentCell::lstm, input_size, hidden_size, gated("LSTM", options)) {}

GRU::GRU(int64_t input_size, int64_t hidden_size, const RecurrentOptions& options)
    : RecurrentBase("GRU", RecurrentCell::gru, input_size, hidden_size, gated("GRU", options)) {}

}  // namespace nabla::nn
