// RecurrentLM: the articles' recurrent language model — Embedding, a GRU or LSTM stack returning
// every step, and a Dense layer over the vocabulary. Used word-level (gru_lm) and char-level (char_rnn).
#pragma once
#include <memory>
#include <string>

#include "nabla/models/language_model.h"
#include "nabla/nn/embedding.h"
#include "nabla/nn/linear.h"
#include "nabla/nn/rnn.h"

namespace nabla::models {

struct RecurrentLMConfig {
  int64_t vocab_size = 0;
  std::string cell = "gru";  // "gru", "lstm" or "rnn"
  int64_t embedding_dim = 256, hidden_size = 1024, num_layers = 1;
  double dropout = 0.0;  // between recurrent layers and before the output layer
};

class RecurrentLM : public LanguageModel {
 public:
  explicit RecurrentLM(const RecurrentLMConfig& config);
  Tensor forward(const Tensor& tokens) override;
  Tensor decode(const Tensor& tokens, DecodeState& state) override;
  int64_t vocab_size() const override { return config.vocab_size; }

  const RecurrentLMConfig config;
  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::RecurrentBase> rnn;
  std::shared_ptr<nn::Linear> head;
};

}  // namespace nabla::models
