#include "nabla/models/bert.h"

#include <algorithm>
#include <cmath>

#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/nn/attention.h"
#include "nabla/nn/init.h"
#include "nabla/ops/activation.h"
#include "nabla/ops/attention.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/linalg.h"
#include "nabla/ops/nn_functional.h"
#include "nabla/ops/shape_ops.h"

namespace nabla::models {
namespace {

// A named container, so parameter names nest as Hugging Face's do ("attention.self.query").
std::shared_ptr<nn::Module> container(nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<nn::Module>("Module"));
}

Tensor activation(const Tensor& x, const std::string& name) {
  if (name == "gelu") return gelu(x, "none");
  if (name == "relu") return relu(x);
  if (name == "silu") return silu(x);
  return gelu(x, "tanh");
}

}  // namespace

BertLayer::BertLayer(const BertConfig& c)
    : nn::Module("BertLayer"),
      heads_(c.num_attention_heads),
      dropout_(c.hidden_dropout_prob),
      attention_dropout_(c.attention_probs_dropout_prob),
      act_(c.hidden_act) {
  const int64_t h = c.hidden_size;
  auto attention = container(*this, "attention");
  auto self = container(*attention, "self");
  query = self->register_module("query", std::make_shared<nn::Linear>(h, h));
  key = self->register_module("key", std::make_shared<nn::Linear>(h, h));
  value = self->register_module("value", std::make_shared<nn::Linear>(h, h));
  auto attention_output = container(*attention, "output");
  attention_dense = attention_output->register_module("dense", std::make_shared<nn::Linear>(h, h));
  attention_norm = attention_output->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(h, c.layer_norm_eps));
  intermediate =
      container(*this, "intermediate")->register_module("dense", std::make_shared<nn::Linear>(h, c.intermediate_size));
  auto output = container(*this, "output");
  output_dense = output->register_module("dense", std::make_shared<nn::Linear>(c.intermediate_size, h));
  output_norm = output->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(h, c.layer_norm_eps));
}

Tensor BertLayer::forward(const Tensor& x, const Tensor& key_mask) {
  const int64_t b = x.shape()[0], t = x.shape()[1], e = x.shape()[2], d = e / heads_;
  auto heads_first = [&](const Tensor& y) { return y.reshape({b, t, heads_, d}).permute({0, 2, 1, 3}); };
  const Tensor q = heads_first(query->forward(x)), k = heads_first(key->forward(x)), v = heads_first(value->forward(x));
  Tensor attended;
  if (attention_dropout_ > 0 && is_training()) {  // dropout on the attention weights needs them formed
    Tensor scores = mul(matmul(q, k.transpose(-2, -1)), 1.0 / std::sqrt(double(d)));
    if (key_mask.defined()) scores = where(key_mask, scores, full_like(scores, -1e30));
    attended = matmul(dropout(softmax(scores, -1), attention_dropout_, true), v);
  } else {
    attended = scaled_dot_product_attention(q, k, v, key_mask);
  }
  attended = attended.permute({0, 2, 1, 3}).reshape({b, t, e});
  Tensor h = attention_norm->forward(add(x, dropout(attention_dense->forward(attended), dropout_, is_training())));
  Tensor m = output_dense->forward(activation(intermediate->forward(h), act_));
  return output_norm->forward(add(h, dropout(m, dropout_, is_training())));
}

Bert::Bert(const BertConfig& c) : nn::Module("Bert"), config(c) {
  NABLA_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && c.num_hidden_layers > 0 && c.num_attention_heads > 0,
              "Bert: vocab_size, hidden_size, num_hidden_layers and num_attention_heads must be positive");
  NABLA_CHECK(c.hidden_size % c.num_attention_heads == 0, "Bert: hidden_size (", c.hidden_size,
              ") must be a multiple of num_attention_heads (", c.num_attention_heads, ")");
  const auto& acts = nn::transformer_activations();
  NABLA_CHECK(std::find(acts.begin(), acts.end(), c.hidden_act) != acts.end(), "Bert: unknown hidden_act \"",
              c.hidden_act, "\"");
  NABLA_CHECK(c.head == "mlm" || c.head == "classifier" || c.head == "none",
              "Bert: head must be mlm, classifier or none");
  const int64_t h = c.hidden_size;
  auto bert = container(*this, "bert");
  auto embeddings = container(*bert, "embeddings");
  word_embeddings = embeddings->register_module("word_embeddings", std::make_shared<nn::Embedding>(c.vocab_size, h));
  position_embeddings =
      embeddings->register_module("position_embeddings", std::make_shared<nn::Embedding>(c.max_position_embeddings, h));
  token_type_embeddings =
      embeddings->register_module("token_type_embeddings", std::make_shared<nn::Embedding>(c.type_vocab_size, h));
  embeddings_norm = embeddings->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(h, c.layer_norm_eps));
  auto layer = container(*container(*bert, "encoder"), "layer");
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    layers.push_back(layer->register_module(std::to_string(i), std::make_shared<BertLayer>(c)));
  if (c.pooler || c.head == "classifier")
    pooler_dense = container(*bert, "pooler")->register_module("dense", std::make_shared<nn::Linear>(h, h));
  if (c.head == "mlm") {
    auto predictions = container(*container(*this, "cls"), "predictions");
    auto transform = container(*predictions, "transform");
    transform_dense = transform->register_module("dense", std::make_shared<nn::Linear>(h, h));
    transform_norm = transform->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(h, c.layer_norm_eps));
    mlm_bias = predictions->register_parameter("bias", zeros({c.vocab_size}));
  } else if (c.head == "classifier") {
    classifier = register_module("classifier", std::make_shared<nn::Linear>(h, c.num_labels));
  }
  // BERT's initialisation: N(0, 0.02) matrices and embeddings, zero biases (LayerNorm keeps 1 / 0).
  for (auto& [name, p] : named_parameters()) {
    if (name.find("LayerNorm") != std::string::npos) continue;
    if (p.dim() >= 2)
      nn::init::normal_(p, 0.0, 0.02);
    else
      nn::init::zeros_(p);
  }
}

Tensor Bert::encode(const Tensor& ids, const Tensor& token_types, const Tensor& attention_mask) {
  NABLA_CHECK(ids.dtype() == DType::i64 && ids.dim() == 2, "Bert: ids must be i64 [batch, time], got ",
              dtype_name(ids.dtype()), " ", ids.shape());
  const int64_t t = ids.shape()[1];
  NABLA_CHECK(t <= config.max_position_embeddings, "Bert: ", t, " tokens are more than max_position_embeddings (",
              config.max_position_embeddings, ")");
  const Tensor types = token_types.defined() ? token_types : zeros(ids.shape(), DType::i64);
  NABLA_CHECK(types.shape() == ids.shape(), "Bert: token types ", types.shape(), " must match the ids ", ids.shape());
  Tensor x = add(add(word_embeddings->forward(ids), token_type_embeddings->forward(types)),
                 position_embeddings->forward(arange(0.0, double(t), 1.0, DType::i64)));
  x = dropout(embeddings_norm->forward(x), config.hidden_dropout_prob, is_training());
  Tensor key_mask;
  if (attention_mask.defined()) {
    NABLA_CHECK(attention_mask.shape() == ids.shape(), "Bert: attention mask ", attention_mask.shape(),
                " must match the ids ", ids.shape());
    key_mask = attention_mask.to(DType::boolean).reshape({ids.shape()[0], 1, 1, t});
  }
  for (auto& layer : layers) x = layer->forward(x, key_mask);
  return x;
}

Tensor Bert::pool(const Tensor& hidden) {
  NABLA_CHECK(pooler_dense, "Bert: this model has no pooler");
  return tanh(pooler_dense->forward(hidden.select(1, 0)));
}

Tensor Bert::forward(const Tensor& ids, const Tensor& token_types, const Tensor& attention_mask) {
  const Tensor hidden = encode(ids, token_types, attention_mask);
  if (config.head == "mlm") {
    Tensor h = transform_norm->forward(activation(transform_dense->forward(hidden), config.hidden_act));
    return add(matmul(h, word_embeddings->weight.t()), mlm_bias);
  }
  if (config.head == "classifier")
    return classifier->forward(dropout(pool(hidden), config.hidden_dropout_prob, is_training()));
  return hidden;
}

Tensor Bert::forward(const Tensor& ids) {
  return forward(ids, Tensor(), ne(ids, full_like(ids, double(config.pad_token_id))).to(DType::i64));
}

std::string Bert::extra_repr() const {
  return "vocab_size=" + std::to_string(config.vocab_size) + ", hidden_size=" + std::to_string(config.hidden_size) +
         ", layers=" + std::to_string(config.num_hidden_layers) +
         ", heads=" + std::to_string(config.num_attention_heads) + ", head=" + config.head;
}

}  // namespace nabla::models
