// BERT as Hugging Face's BertModel / BertForMaskedLM / BertForSequenceClassification compute it,
// with the same parameter names ("bert.embeddings.word_embeddings.weight",
// "bert.encoder.layer.0.attention.self.query.weight", "cls.predictions.bias", "classifier.weight"),
// so a Hugging Face state dict loads as it is. Post-LayerNorm blocks:
//   h = LayerNorm(h + dropout(attention(h)));  h = LayerNorm(h + dropout(W2 act(W1 h)))
// Embeddings are word + position + token type, then LayerNorm; padding keys are masked out.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nabla/nn/embedding.h"
#include "nabla/nn/linear.h"
#include "nabla/nn/normalization.h"

namespace nabla::models {

struct BertConfig {
  int64_t vocab_size = 0, hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12;
  int64_t intermediate_size = 3072, max_position_embeddings = 512, type_vocab_size = 2, pad_token_id = 0;
  std::string hidden_act = "gelu";  // nn::transformer_activations()
  double hidden_dropout_prob = 0.1, attention_probs_dropout_prob = 0.1, layer_norm_eps = 1e-12;
  std::string head = "mlm";  // "mlm" (BertForMaskedLM), "classifier" (ForSequenceClassification), "none"
  bool pooler = false;       // the tanh layer over [CLS]; the classifier always has it
  int64_t num_labels = 2;    // classifier only
};

class BertLayer : public nn::Module {
 public:
  explicit BertLayer(const BertConfig& config);
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  // key_mask: bool [B, 1, 1, T], true where a key may be attended to (not padding), or undefined.
  Tensor forward(const Tensor& x, const Tensor& key_mask);

  std::shared_ptr<nn::Linear> query, key, value, attention_dense, intermediate, output_dense;
  std::shared_ptr<nn::LayerNorm> attention_norm, output_norm;

 private:
  const int64_t heads_;
  const double dropout_, attention_dropout_;
  const std::string act_;
};

class Bert : public nn::Module {
 public:
  explicit Bert(const BertConfig& config);

  // ids i64 [B, T] -> the head's output: MLM logits [B, T, vocab], classifier logits [B, labels],
  // or (head "none") the last hidden state [B, T, hidden]. Token types are 0 and the attention
  // mask is ids != pad_token_id, as the tokenizer pads.
  Tensor forward(const Tensor& ids) override;
  // With explicit token types and attention mask (i64 [B, T], 1 = a real token), as transformers takes them.
  Tensor forward(const Tensor& ids, const Tensor& token_types, const Tensor& attention_mask);
  // The encoder's output [B, T, hidden] and the pooled [CLS] state [B, hidden] (when there is a pooler).
  Tensor encode(const Tensor& ids, const Tensor& token_types, const Tensor& attention_mask);
  Tensor pool(const Tensor& hidden);
  std::string extra_repr() const override;

  const BertConfig config;
  std::shared_ptr<nn::Embedding> word_embeddings, position_embeddings, token_type_embeddings;
  std::shared_ptr<nn::LayerNorm> embeddings_norm;
  std::vector<std::shared_ptr<BertLayer>> layers;
  std::shared_ptr<nn::Linear> pooler_dense, transform_dense, classifier;
  std::shared_ptr<nn::LayerNorm> transform_norm;
  Tensor mlm_bias;  // cls.predictions.bias; the decoder's weight is word_embeddings' (tied)
};

}  // namespace nabla::models
