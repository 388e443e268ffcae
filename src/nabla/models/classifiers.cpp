#include "nabla/models/classifiers.h"

#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/nn/activation.h"
#include "nabla/nn/conv.h"
#include "nabla/nn/rnn.h"
#include "nabla/ops/activation.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/nn_functional.h"
#include "nabla/ops/reduce.h"

namespace nabla::models {

namespace {

// nn::RNN, LSTM or GRU by the config's name for it.
std::shared_ptr<nn::RecurrentBase> make_recurrent(const std::string& cell, int64_t input, int64_t hidden,
                                                  const nn::RecurrentOptions& options) {
  if (cell == "lstm") return std::make_shared<nn::LSTM>(input, hidden, options);
  if (cell == "gru") return std::make_shared<nn::GRU>(input, hidden, options);
  NABLA_CHECK(cell == "rnn", "recurrent cell must be \"rnn\", \"lstm\" or \"gru\", got \"", cell, "\"");
  return std::make_shared<nn::RNN>(input, hidden, options);
}

}  // namespace

using nn::ModulePtr;

std::shared_ptr<nn::Sequential> make_neuron(int64_t inputs) {
  return std::make_shared<nn::Sequential>(
      std::initializer_list<ModulePtr>{std::make_shared<nn::Linear>(inputs, 1), std::make_shared<nn::Sigmoid>()});
}

std::shared_ptr<nn::Sequential> make_mlp(int64_t inputs, const std::vector<int64_t>& hidden, int64_t classes,
                                         double dropout) {
  auto net = std::make_shared<nn::Sequential>();
  net->add(std::make_shared<nn::Flatten>());
  int64_t width = inputs;
  for (int64_t h : hidden) {
    net->add(std::make_shared<nn::Linear>(width, h)).add(std::make_shared<nn::ReLU>());
    if (dropout > 0) net->add(std::make_shared<nn::Dropout>(dropout));
    width = h;
  }
  net->add(std::make_shared<nn::Linear>(width, classes));
  return net;
}

std::shared_ptr<nn::Sequential> make_fashion_cnn(int64_t classes, double dropout) {
  auto net = std::make_shared<nn::Sequential>(std::initializer_list<ModulePtr>{
      std::make_shared<nn::Conv2d>(1, 32, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Conv2d>(32, 64, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(1600, 128), std::make_shared<nn::ReLU>()});
  if (dropout > 0) net->add(std::make_shared<nn::Dropout>(dropout));
  net->add(std::make_shared<nn::Linear>(128, classes));
  return net;
}

std::shared_ptr<nn::Sequential> make_lenet(int64_t classes, const std::string& activation, const std::string& pooling) {
  auto act = [&]() -> ModulePtr {
    if (activation == "relu") return std::make_shared<nn::ReLU>();
    if (activation == "tanh") return std::make_shared<nn::Tanh>();
    fail("lenet: activation must be \"relu\" or \"tanh\", got \"", activation, "\"");
  };
  auto pool = [&]() -> ModulePtr {
    if (pooling == "max") return std::make_shared<nn::MaxPool2d>(2);
    if (pooling == "avg") return std::make_shared<nn::AvgPool2d>(2);
    fail("lenet: pooling must be \"max\" or \"avg\", got \"", pooling, "\"");
  };
  return std::make_shared<nn::Sequential>(std::initializer_list<ModulePtr>{
      std::make_shared<nn::Conv2d>(1, 6, 5, nn::Conv2dOptions{{1, 1}, {2, 2}}), act(), pool(),
      std::make_shared<nn::Conv2d>(6, 16, 5), act(), pool(), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(16 * 5 * 5, 120), act(), std::make_shared<nn::Linear>(120, 84), act(),
      std::make_shared<nn::Linear>(84, classes)});
}

std::shared_ptr<nn::Sequential> make_recurrent_text(const std::string& cell, int64_t vocab_size, int64_t embedding_dim,
                                                    int64_t hidden_size, int64_t num_layers, double dropout) {
  nn::RecurrentOptions options{
      .num_layers = num_layers, .batch_first = true, .dropout = dropout, .return_sequences = false};
  return std::make_shared<nn::Sequential>(
      std::initializer_list<ModulePtr>{std::make_shared<nn::Embedding>(vocab_size, embedding_dim),
                                       make_recurrent(cell, embedding_dim, hidden_size, options),
                                       std::make_shared<nn::Linear>(hidden_size, 1), std::make_shared<nn::Sigmoid>()});
}

RecurrentClassifier::RecurrentClassifier(const std::string& cell, int64_t steps, int64_t features, int64_t hidden_size,
                                         int64_t num_layers, int64_t classes, double dropout)
    : Module("RecurrentClassifier"), steps(steps), features(features) {
  nn::RecurrentOptions options{.num_layers = num_layers, .batch_first = true, .dropout = dropout};
  rnn = register_module("rnn", make_recurrent(cell, features, hidden_size, options));
  fc = register_module("fc", std::make_shared<nn::Linear>(hidden_size, classes));
}

Tensor RecurrentClassifier::forward(const Tensor& x) {
  NABLA_CHECK(x.dim() >= 3 && x.size(-2) == steps && x.size(-1) == features, "rnn_classifier: input must be [batch, ",
              steps, ", ", features, "] (or images [batch, 1, ", steps, ", ", features, "]), got ", x.shape());
  Tensor sequence = x.reshape({x.size(0), steps, features});
  Tensor out = rnn->forward(sequence, Tensor(), Tensor()).output;  // [B, steps, hidden]
  return fc->forward(out.select(1, steps - 1));                    // out[:, -1, :]
}

KerasAttentionClassifier::KerasAttentionClassifier(int64_t vocab_size, int64_t embedding_dim, int64_t units,
                                                   bool use_scale, int64_t pad_id)
    : Module("KerasAttentionClassifier"), pad_id(pad_id) {
  embedding = register_module("embedding", std::make_shared<nn::Embedding>(vocab_size, embedding_dim));
  project = register_module("project", std::make_shared<nn::Linear>(embedding_dim, units));
  attention = register_module("attention", std::make_shared<nn::KerasAttention>(use_scale));
  dense = register_module("dense", std::make_shared<nn::Linear>(units, units));
  head = register_module("head", std::make_shared<nn::Linear>(units, 1));
}

Tensor KerasAttentionClassifier::forward(const Tensor& ids) {
  NABLA_CHECK(ids.dtype() == DType::i64 && ids.dim() == 2, "keras_attention: tokens must be i64 [batch, length], got ",
              ids.shape());
  const Tensor real = ne(ids, full({}, double(pad_id), DType::i64));  // bool [B, L]
  Tensor x = project->forward(embedding->forward(ids));
  x = attention->forward(x, x, Tensor(), real).output;
  // Mean over the real tokens (an all-padding row divides by 1 and stays 0).
  Tensor keep = real.to(DType::f32).unsqueeze(-1);
  Tensor pooled = div(sum(mul(x, keep), {1}), clamp(sum(keep, {1}), 1.0, 1e30));
  return sigmoid(head->forward(relu(dense->forward(pooled))));
}

AttentionTextClassifier::AttentionTextClassifier(int64_t vocab_size, int64_t max_length, int64_t embed_dim,
                                                 int64_t num_heads, int64_t num_layers, double dropout, int64_t pad_id)
    : Module("AttentionTextClassifier"), max_length(max_length), pad_id(pad_id), dropout(dropout) {
  NABLA_CHECK(num_layers > 0, "attention_text: num_layers must be positive, got ", num_layers);
  tokens = register_module("tokens", std::make_shared<nn::Embedding>(vocab_size, embed_dim));
  positions = register_module("positions", std::make_shared<nn::Embedding>(max_length, embed_dim));
  auto list = register_module("blocks", std::make_shared<nn::Module>("ModuleList"));
  for (int64_t i = 0; i < num_layers; ++i)
    blocks.push_back(list->register_module(
        std::to_string(i), std::make_shared<nn::TransformerBlock>(embed_dim, num_heads, 4.0, dropout, false)));
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(embed_dim));
  head = register_module("head", std::make_shared<nn::Linear>(embed_dim, 1));
}

Tensor AttentionTextClassifier::forward(const Tensor& ids) {
  NABLA_CHECK(ids.dtype() == DType::i64 && ids.dim() == 2 && ids.shape()[1] <= max_length,
              "attention_text: tokens must be i64 [batch, length <= ", max_length, "], got ", ids.shape());
  const int64_t length = ids.shape()[1];
  const Tensor pad = full({}, double(pad_id), DType::i64);
  Tensor padding = eq(ids, pad);  // true = ignore
  Tensor x = add(tokens->forward(ids), positions->forward(arange(0.0, double(length), 1.0, DType::i64)));
  x = nabla::dropout(x, dropout, is_training());
  for (auto& block : blocks) x = block->forward(x, padding);
  x = norm->forward(x);
  // Mean over the real tokens (an all-padding row divides by 1 and stays 0).
  Tensor keep = ne(ids, pad).to(DType::f32).unsqueeze(-1);
  Tensor pooled = div(sum(mul(x, keep), {1}), clamp(sum(keep, {1}), 1.0, 1e30));
  return sigmoid(head->forward(pooled));
}

}  // namespace nabla::models
