#include "nabla/models/gpt.h"

#include <cmath>
#include <limits>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/nn/activation_checkpointing.h"
#include "nabla/nn/init.h"
#include "nabla/ops/attention.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/linalg.h"
#include "nabla/ops/linear_cross_entropy.h"
#include "nabla/ops/nn_functional.h"
#include "nabla/ops/shape_ops.h"
#include "nabla/optim/make_optimizer.h"

namespace nabla::models {

GPT::GPT(const GPTConfig& c) : LanguageModel("GPT"), config(c) {
  NABLA_CHECK(c.vocab_size > 0, "GPT: vocab_size must be positive, got ", c.vocab_size);
  NABLA_CHECK(c.context > 0 && c.n_layer > 0 && c.n_head > 0, "GPT: context, n_layer and n_head must be positive");
  NABLA_CHECK(c.n_embd > 0 && c.n_embd % c.n_head == 0, "GPT: n_embd (", c.n_embd,
              ") must be a positive multiple of n_head (", c.n_head, ")");
  NABLA_CHECK(c.dropout >= 0 && c.dropout < 1, "GPT: dropout must be in [0, 1), got ", c.dropout);
  wte = register_module("wte", std::make_shared<nn::Embedding>(c.vocab_size, c.n_embd));
  wpe = register_module("wpe", std::make_shared<nn::Embedding>(c.context, c.n_embd));
  auto h = register_module("h", std::make_shared<nn::Module>("ModuleList"));
  for (int64_t i = 0; i < c.n_layer; ++i)
    blocks.push_back(h->register_module(
        std::to_string(i),
        std::make_shared<nn::TransformerBlock>(c.n_embd, c.n_head,
                                               nn::TransformerBlockOptions{.mlp_hidden = c.n_inner,
                                                                           .dropout = c.dropout,
                                                                           .layer_norm_eps = c.layer_norm_epsilon,
                                                                           .activation = c.activation})));
  ln_f = register_module("ln_f", std::make_shared<nn::LayerNorm>(c.n_embd, c.layer_norm_epsilon));

  // GPT-2's initialisation: N(0, 0.02) everywhere, and residual projections scaled down by
  // sqrt(2 * n_layer) so the residual stream's variance does not grow with depth.
  for (auto& [name, p] : named_parameters()) {
    if (name.find("ln_") != std::string::npos) continue;  // LayerNorm keeps ones / zeros
    const bool residual = name.ends_with("out_proj.weight") || name.ends_with("mlp.proj.weight");
    if (p.dim() >= 2)
      nn::init::normal_(p, 0.0, residual ? 0.02 / std::sqrt(2.0 * c.n_layer) : 0.02);
    else
      nn::init::zeros_(p);
  }
}

Tensor GPT::embed(const Tensor& tokens, int64_t first_position) {
  NABLA_CHECK(tokens.dtype() == DType::i64 && tokens.dim() == 2, "GPT: tokens must be i64 [batch, time], got ",
              dtype_name(tokens.dtype()), " ", tokens.shape());
  const int64_t t = tokens.shape()[1];
  NABLA_CHECK(first_position + t <= config.context, "GPT: sequence of ", first_position + t,
              " tokens is longer than the model's context of ", config.context);
  Tensor positions = arange(double(first_position), double(first_position + t), 1.0, DType::i64);
  return dropout(add(wte->forward(tokens), wpe->forward(positions)), config.dropout, is_training());
}

Tensor GPT::logits(const Tensor& hidden) { return matmul(ln_f->forward(hidden), wte->weight.t()); }

Tensor GPT::hidden(const Tensor& tokens) {
  Tensor x = embed(tokens, 0);
  for (auto& block : blocks) {
    if (config.activation_checkpointing && is_training())
      x = nn::checkpoint([block](const Tensor& in) { return block->forward(in); }, x);
    else
      x = block->forward(x);
  }
  return x;
}

Tensor GPT::forward(const Tensor& tokens) { return logits(hidden(tokens)); }

Tensor GPT::forward_cross_entropy(const Tensor& tokens, const Tensor& targets, Tensor* predicted) {
  NABLA_CHECK(targets.shape() == tokens.shape(), "GPT: targets ", targets.shape(), " must have the tokens' shape ",
              tokens.shape());
  return linear_cross_entropy(ln_f->forward(hidden(tokens)), wte->weight, targets, {}, predicted);
}

Tensor GPT::decode(const Tensor& tokens, DecodeState& state) {
  NoGradGuard no_grad;
  const int64_t batch = tokens.shape()[0], t = tokens.dim() == 2 ? tokens.shape()[1] : 0;
  const int64_t heads = config.n_head, head_dim = config.n_embd / config.n_head, past = state.length;
  NABLA_CHECK(t > 0, "GPT::decode: needs at least one token, got ", tokens.shape());
  Tensor x = embed(tokens, past);
  if (state.tensors.empty())  // keys and values of every block, preallocated for the whole context
    for (int64_t i = 0; i < 2 * config.n_layer; ++i)
      state.tensors.push_back(zeros({batch, heads, config.context, head_dim}));
  NABLA_CHECK(state.tensors.size() == size_t(2 * config.n_layer) && state.tensors[0].shape()[0] == batch,
              "GPT::decode: the decode state belongs to another model or batch size");

  // New queries see every cached key; among themselves they are causal (bottom-right aligned).
  Tensor mask;
  bool causal = false;
  if (t > 1 && past == 0) {
    causal = true;
  } else if (t > 1) {
    std::vector<float> m(size_t(t * (past + t)));
    for (int64_t i = 0; i < t; ++i)
      for (int64_t j = 0; j < past + t; ++j)
        m[size_t(i * (past + t) + j)] = j <= past + i ? 0.0f : -std::numeric_limits<float>::infinity();
    mask = tensor(m, {t, past + t});
  }
  for (size_t b = 0; b < blocks.size(); ++b) {
    nn::TransformerBlock& block = *blocks[b];
    nn::MultiheadAttention& attn = *block.attn;
    std::vector<Tensor> qkv = chunk(linear(block.ln_1->forward(x), attn.in_proj_weight, attn.in_proj_bias), 3, -1);
    auto heads_first = [&](const Tensor& y) { return y.reshape({batch, t, heads, head_dim}).permute({0, 2, 1, 3}); };
    Tensor& keys = state.tensors[2 * b];
    Tensor& values = state.tensors[2 * b + 1];
    keys.narrow(2, past, t).copy_(heads_first(qkv[1]));
    values.narrow(2, past, t).copy_(heads_first(qkv[2]));
    Tensor attended = scaled_dot_product_attention(heads_first(qkv[0]), keys.narrow(2, 0, past + t),
                                                   values.narrow(2, 0, past + t), mask, causal);
    x = add(x, attn.out_proj->forward(attended.permute({0, 2, 1, 3}).reshape({batch, t, config.n_embd})));
    x = add(x, block.mlp->forward(block.ln_2->forward(x)));
  }
  state.length = past + t;
  return logits(x.select(1, t - 1));
}

std::vector<optim::ParamGroup> GPT::weight_decay_groups(double weight_decay) const {
  return optim::decay_matrices_only(parameters(), weight_decay);
}

std::string GPT::extra_repr() const {
  return "vocab_size=" + std::to_string(config.vocab_size) + ", context=" + std::to_string(config.context) +
         ", n_layer=" + std::to_string(config.n_layer) + ", n_head=" + std::to_string(config.n_head) +
         ", n_embd=" + std::to_string(config.n_embd) +
         (config.n_inner > 0 ? ", n_inner=" + std::to_string(config.n_inner) : "") +
         (config.activation != "gelu_new" ? ", activation=" + config.activation : "");
}

}  // namespace nabla::models
