#include "nabla/models/recurrent_lm.h"

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/error.h"
#include "nabla/ops/nn_functional.h"

namespace nabla::models {

RecurrentLM::RecurrentLM(const RecurrentLMConfig& c) : LanguageModel("RecurrentLM"), config(c) {
  NABLA_CHECK(c.vocab_size > 0 && c.embedding_dim > 0 && c.hidden_size > 0 && c.num_layers > 0,
              "RecurrentLM: vocab_size, embedding_dim, hidden_size and num_layers must be positive");
  NABLA_CHECK(c.dropout >= 0 && c.dropout < 1, "RecurrentLM: dropout must be in [0, 1), got ", c.dropout);
  embedding = register_module("embedding", std::make_shared<nn::Embedding>(c.vocab_size, c.embedding_dim));
  nn::RecurrentOptions options{.num_layers = c.num_layers, .batch_first = true, .dropout = c.dropout};
  if (c.cell == "gru")
    rnn = std::make_shared<nn::GRU>(c.embedding_dim, c.hidden_size, options);
  else if (c.cell == "lstm")
    rnn = std::make_shared<nn::LSTM>(c.embedding_dim, c.hidden_size, options);
  else if (c.cell == "rnn")
    rnn = std::make_shared<nn::RNN>(c.embedding_dim, c.hidden_size, options);
  else
    fail("RecurrentLM: cell must be \"gru\", \"lstm\" or \"rnn\", got \"", c.cell, "\"");
  register_module("rnn", rnn);
  head = register_module("head", std::make_shared<nn::Linear>(c.hidden_size, c.vocab_size));
}

Tensor RecurrentLM::forward(const Tensor& tokens) {
  Tensor hidden = rnn->forward(embedding->forward(tokens), Tensor()).output;
  return head->forward(dropout(hidden, config.dropout, is_training()));
}

Tensor RecurrentLM::decode(const Tensor& tokens, DecodeState& state) {
  NoGradGuard no_grad;
  NABLA_CHECK(tokens.dim() == 2 && tokens.shape()[1] > 0, "RecurrentLM::decode: tokens must be [batch, time], got ",
              tokens.shape());
  const bool lstm = config.cell == "lstm";
  Tensor h0 = state.tensors.empty() ? Tensor() : state.tensors[0];
  Tensor c0 = lstm && !state.tensors.empty() ? state.tensors[1] : Tensor();
  nn::RecurrentOutput out = rnn->forward(embedding->forward(tokens), h0, c0);
  state.tensors = lstm ? std::vector<Tensor>{out.h_n, out.c_n} : std::vector<Tensor>{out.h_n};
  state.length += tokens.shape()[1];
  return head->forward(out.output.select(1, tokens.shape()[1] - 1));
}

}  // namespace nabla::models
