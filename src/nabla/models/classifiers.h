// The articles' classifiers and regressors, built from nn layers: the sigmoid neuron, the MLP,
// the Keras-style CNN, LeNet-5, and the two verse classifiers (LSTM and self-attention).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nabla/nn/attention.h"
#include "nabla/nn/embedding.h"
#include "nabla/nn/linear.h"
#include "nabla/nn/sequential.h"

namespace nabla::models {

// One neuron: Linear(inputs, 1) + sigmoid.
std::shared_ptr<nn::Sequential> make_neuron(int64_t inputs);
// Flatten, then Dense+ReLU(+Dropout) per hidden width, then Dense(classes) logits.
std::shared_ptr<nn::Sequential> make_mlp(int64_t inputs, const std::vector<int64_t>& hidden, int64_t classes,
                                         double dropout);
// Conv 32 3x3 ReLU, MaxPool 2, Conv 64 3x3 ReLU, MaxPool 2, Flatten, Dense 128 ReLU, Dense classes.
std::shared_ptr<nn::Sequential> make_fashion_cnn(int64_t classes, double dropout);
// LeNet-5 on 28x28: conv 6 5x5 (padding 2), pool, conv 16 5x5, pool, fc 120-84-classes.
// activation "relu" or "tanh"; pooling "max" or "avg" (the 1998 original: tanh + avg).
std::shared_ptr<nn::Sequential> make_lenet(int64_t classes, const std::string& activation, const std::string& pooling);
// Embedding, LSTM stack (last output), Dense(1), sigmoid: P(class 1) for a token sequence.
std::shared_ptr<nn::Sequential> make_lstm_text(int64_t vocab_size, int64_t embedding_dim, int64_t hidden_size,
                                               int64_t num_layers, double dropout);

// Token + position embeddings, transformer encoder blocks (padding masked), mean over the real
// tokens, Dense(1), sigmoid. Token id `pad_id` marks padding.
class AttentionTextClassifier : public nn::Module {
 public:
  AttentionTextClassifier(int64_t vocab_size, int64_t max_length, int64_t embed_dim, int64_t num_heads,
                          int64_t num_layers, double dropout, int64_t pad_id);
  Tensor forward(const Tensor& tokens) override;  // i64 [B, L] -> probabilities [B, 1]

  std::shared_ptr<nn::Embedding> tokens, positions;
  std::vector<std::shared_ptr<nn::TransformerBlock>> blocks;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head;
  const int64_t max_length, pad_id;
  const double dropout;
};

}  // namespace nabla::models
