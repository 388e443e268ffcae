// The articles' classifiers and regressors, built from nn layers: the sigmoid neuron, the MLP,
// the Keras-style CNN, LeNet-5, the recurrent classifier, and the verse classifiers (recurrent,
// self-attention and Keras attention).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nabla/nn/attention.h"
#include "nabla/nn/embedding.h"
#include "nabla/nn/keras_attention.h"
#include "nabla/nn/linear.h"
#include "nabla/nn/rnn.h"
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
// Embedding, a recurrent stack (cell "lstm", "gru" or "rnn"; its last output), Dense(1), sigmoid:
// P(class 1) for a token sequence.
std::shared_ptr<nn::Sequential> make_recurrent_text(const std::string& cell, int64_t vocab_size, int64_t embedding_dim,
                                                    int64_t hidden_size, int64_t num_layers, double dropout);

// The articles' PyTorch RNN classifier: nn.RNN / LSTM / GRU (batch_first) over a sequence of
// feature vectors — an image's rows, for one-channel images — and a Linear on the last time step.
class RecurrentClassifier : public nn::Module {
 public:
  RecurrentClassifier(const std::string& cell, int64_t steps, int64_t features, int64_t hidden_size, int64_t num_layers,
                      int64_t classes, double dropout);
  // [B, steps, features], or [B, 1, steps, features] images: class scores [B, classes].
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::RecurrentBase> rnn;
  std::shared_ptr<nn::Linear> fc;
  const int64_t steps, features;
};

// The attention article's Keras model in the form that works (configs/keras_attention.json):
// Embedding, Dense(units) per token, Keras Attention()([x, x]) over the tokens (padding masked),
// mean over the real tokens, Dense(units, relu), Dense(1, sigmoid).
class KerasAttentionClassifier : public nn::Module {
 public:
  KerasAttentionClassifier(int64_t vocab_size, int64_t embedding_dim, int64_t units, bool use_scale, int64_t pad_id);
  Tensor forward(const Tensor& tokens) override;  // i64 [B, L] -> probabilities [B, 1]

  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::Linear> project, dense, head;
  std::shared_ptr<nn::KerasAttention> attention;
  const int64_t pad_id;
};

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
