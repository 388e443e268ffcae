// MultiheadAttention with PyTorch's parameters (in_proj_weight, out_proj) on the fused
// scaled_dot_product_attention kernel, and the pre-LayerNorm GPT-2 TransformerBlock built on it.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nabla/nn/linear.h"
#include "nabla/nn/module.h"
#include "nabla/nn/normalization.h"

namespace nabla::nn {

class MultiheadAttention : public Module {
 public:
  // dropout is on the attention weights, in training mode only (it needs the unfused path there).
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                     bool batch_first = false);

  // query [T, B, E], key and value [S, B, E] ([B, T, E] / [B, S, E] if batch_first), or unbatched
  // [T, E] / [S, E]. Passing the same tensor as query, key and value (self-attention) projects all
  // three with one GEMM.
  // key_padding_mask: [B, S] ([S] unbatched), bool with true = ignore that key as in PyTorch, or
  //   f32 added to the scores.
  // attn_mask: [T, S] or [B * num_heads, T, S], bool with true = may NOT attend (PyTorch), or f32.
  // is_causal: query i attends only keys j <= i; unlike PyTorch it needs no attn_mask and may be
  //   combined with the masks.
  // Returns [T, B, E] (batch_first: [B, T, E]; unbatched: [T, E]). Attention weights are not
  // returned: the fused kernel never forms them.
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& key_padding_mask = Tensor(),
                 const Tensor& attn_mask = Tensor(), bool is_causal = false);
  Tensor forward(const Tensor& x) override;  // self-attention without masks
  std::string extra_repr() const override;

  Tensor in_proj_weight, in_proj_bias;  // [3E, E] and [3E]: q, k, v stacked
  std::shared_ptr<Linear> out_proj;
  const int64_t embed_dim, num_heads, head_dim;
  const double dropout;
  const bool batch_first;
};

// The "mlp" of a transformer block: fc (E -> hidden), the activation, proj. Activations by
// Hugging Face's names: "gelu_new" (tanh approximation, GPT-2's; also "gelu_pytorch_tanh",
// "gelu_fast"), "gelu" (erf, BERT's), "relu", "silu".
class TransformerMLP : public Module {
 public:
  TransformerMLP(int64_t embed_dim, int64_t hidden_dim, const std::string& activation = "gelu_new");
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Linear> fc, proj;
  const std::string activation;
};

// The activations TransformerMLP knows, for config errors.
const std::vector<std::string>& transformer_activations();

struct TransformerBlockOptions {
  double mlp_ratio = 4.0;
  int64_t mlp_hidden = 0;  // the MLP's width; 0 means embed_dim * mlp_ratio
  double dropout = 0.0;
  bool causal = true;
  double layer_norm_eps = 1e-5;
  std::string activation = "gelu_new";
};

// Pre-LayerNorm GPT block on batch-first input [B, T, E]:
//   x = x + dropout(attn(ln_1(x)));  x = x + dropout(mlp(ln_2(x)))
// State-dict keys: ln_1.*, attn.in_proj_weight, attn.out_proj.*, ln_2.*, mlp.fc.*, mlp.proj.*.
class TransformerBlock : public Module {
 public:
  TransformerBlock(int64_t embed_dim, int64_t num_heads, const TransformerBlockOptions& options);
  TransformerBlock(int64_t embed_dim, int64_t num_heads, double mlp_ratio = 4.0, double dropout = 0.0,
                   bool causal = true);
  Tensor forward(const Tensor& x) override;
  // key_padding_mask: bool [B, T], true = a padding position no query may attend to.
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask);
  std::string extra_repr() const override;

  std::shared_ptr<LayerNorm> ln_1, ln_2;
  std::shared_ptr<MultiheadAttention> attn;
  std::shared_ptr<TransformerMLP> mlp;
  const double dropout;
  const bool causal;
};

}  // namespace nabla::nn
