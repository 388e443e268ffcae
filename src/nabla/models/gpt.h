// GPT: a decoder-only transformer as in GPT-2 / nanoGPT — token + learned position embeddings,
// pre-LayerNorm blocks with causal fused attention and a GELU MLP, a final LayerNorm, and an output
// layer tied to the token embedding. decode() keeps a per-block KV cache.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nabla/models/language_model.h"
#include "nabla/nn/attention.h"
#include "nabla/nn/cross_entropy_head.h"
#include "nabla/nn/embedding.h"
#include "nabla/nn/normalization.h"
#include "nabla/optim/optimizer.h"

namespace nabla::models {

struct GPTConfig {
  int64_t vocab_size = 0;
  int64_t context = 128;  // block size: the longest sequence it attends over
  int64_t n_layer = 4, n_head = 4, n_embd = 256;
  double dropout = 0.1;
  int64_t n_inner = 0;  // the MLP's width; 0 means 4 * n_embd
  double layer_norm_epsilon = 1e-5;
  std::string activation = "gelu_new";  // the MLP's (nn::transformer_activations())
  // Recompute each block's activations in backward instead of keeping them (nn::checkpoint):
  // about one more forward pass of compute for a fraction of the activation memory.
  bool activation_checkpointing = false;
};

class GPT : public LanguageModel, public nn::CrossEntropyHead {
 public:
  explicit GPT(const GPTConfig& config);

  Tensor forward(const Tensor& tokens) override;
  // Training's loss straight from the last hidden state: the [B, T, vocab] logits never exist whole.
  Tensor forward_cross_entropy(const Tensor& tokens, const Tensor& targets, Tensor* predicted) override;
  Tensor decode(const Tensor& tokens, DecodeState& state) override;
  int64_t vocab_size() const override { return config.vocab_size; }
  int64_t context_length() const override { return config.context; }
  std::string extra_repr() const override;

  // AdamW groups as nanoGPT: matrices and embeddings decay, biases and LayerNorm gains do not.
  std::vector<optim::ParamGroup> weight_decay_groups(double weight_decay) const;

  const GPTConfig config;
  std::shared_ptr<nn::Embedding> wte, wpe;
  std::vector<std::shared_ptr<nn::TransformerBlock>> blocks;  // "h.0", "h.1", ...
  std::shared_ptr<nn::LayerNorm> ln_f;

 private:
  Tensor embed(const Tensor& tokens, int64_t first_position);
  Tensor hidden(const Tensor& tokens);  // the last block's output, before ln_f: [B, T, n_embd]
  Tensor logits(const Tensor& hidden);  // tied output layer: ln_f(hidden) @ wte^T
};

}  // namespace nabla::models
