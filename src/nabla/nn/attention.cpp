#include "nabla/nn/attention.h"

#include <algorithm>
#include <cmath>

#include "nabla/core/creation.h"
#include "nabla/nn/init.h"
#include "nabla/ops/activation.h"
#include "nabla/ops/attention.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/linalg.h"
#include "nabla/ops/nn_functional.h"
#include "nabla/ops/op_utils.h"
#include "nabla/ops/shape_ops.h"

namespace nabla::nn {
namespace {

// A PyTorch-convention mask as scores to add: bool true (= blocked) -> -inf, false -> 0; f32 as is.
Tensor additive_mask(const Tensor& mask, const char* what) {
  if (mask.dtype() == DType::f32) return mask;
  NABLA_CHECK(mask.dtype() == DType::boolean, "MultiheadAttention: ", what,
              " must be bool (true = do not attend) or f32 (added to the scores), got ", dtype_name(mask.dtype()));
  Tensor packed = mask.contiguous();
  Tensor out = Tensor::empty(mask.shape());
  const bool* m = packed.data<bool>();
  float* o = out.data<float>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) o[i] = m[i] ? -INFINITY : 0.0f;
  return out;
}

// [1, 1, T, S]: -inf where key j comes after query i (top-left aligned, as PyTorch's is_causal).
Tensor causal_mask(int64_t t, int64_t s) {
  Tensor out = Tensor::empty({1, 1, t, s});
  float* o = out.data<float>();
  for (int64_t i = 0; i < t; ++i)
    for (int64_t j = 0; j < s; ++j) o[i * s + j] = j > i ? -INFINITY : 0.0f;
  return out;
}

}  // namespace

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout, bool bias,
                                       bool batch_first)
    : Module("MultiheadAttention"),
      embed_dim(embed_dim),
      num_heads(num_heads),
      head_dim(num_heads > 0 ? embed_dim / num_heads : 0),
      dropout(dropout),
      batch_first(batch_first) {
  NABLA_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0, "MultiheadAttention: embed_dim (",
              embed_dim, ") must be a positive multiple of num_heads (", num_heads, ")");
  NABLA_CHECK(dropout >= 0 && dropout < 1, "MultiheadAttention: dropout must be in [0, 1), got ", dropout);
  // PyTorch's _reset_parameters: xavier-uniform in_proj_weight, zero biases; out_proj keeps
  // Linear's default weight init.
  in_proj_weight = register_parameter("in_proj_weight", zeros({3 * embed_dim, embed_dim}));
  init::xavier_uniform_(in_proj_weight);
  if (bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, bias));
  if (bias) init::zeros_(out_proj->bias);
}

Tensor MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const Tensor& key_padding_mask, const Tensor& attn_mask, bool is_causal) {
  const char* op = "MultiheadAttention";
  detail::check_f32(query, op, "query");
  detail::check_f32(key, op, "key");
  detail::check_f32(value, op, "value");
  const bool batched = query.dim() == 3;
  NABLA_CHECK((query.dim() == 2 || batched) && key.dim() == query.dim() && value.dim() == query.dim(), op,
              ": query, key and value must all be 3-D (", batch_first ? "[B, T, E]" : "[T, B, E]",
              ") or all 2-D (unbatched [T, E]), got ", query.shape(), ", ", key.shape(), ", ", value.shape());
  NABLA_CHECK(query.shape().back() == embed_dim && key.shape().back() == embed_dim && value.shape().back() == embed_dim,
              op, ": query, key and value must end in embed_dim = ", embed_dim, ", got ", query.shape(), ", ",
              key.shape(), ", ", value.shape());
  NABLA_CHECK(key.shape() == value.shape(), op, ": key and value must have the same shape, got ", key.shape(), " and ",
              value.shape());
  // Layout: time-major [T, B, E] unless batch_first; unbatched input is [T, 1, E].
  const bool time_major = !batched || !batch_first;
  auto lift = [&](const Tensor& t) { return batched ? t : t.unsqueeze(1); };
  const Tensor q_in = lift(query), k_in = lift(key), v_in = lift(value);
  const int64_t t = q_in.shape()[time_major ? 0 : 1], batch = q_in.shape()[time_major ? 1 : 0],
                s = k_in.shape()[time_major ? 0 : 1];
  NABLA_CHECK(k_in.shape()[time_major ? 1 : 0] == batch, op,
              ": query and key have different batch sizes: ", query.shape(), " and ", key.shape());
  const int64_t e = embed_dim;
  const bool drop = dropout > 0 && is_training();
  if (query.same(key) && key.same(value) && !key_padding_mask.defined() && !attn_mask.defined() && !drop) {
    // Unmasked self-attention (GPT's): the heads are read from the fused projection in place.
    Tensor attended =
        self_attention_heads(linear(q_in, in_proj_weight, in_proj_bias), num_heads, is_causal, time_major);
    Tensor out = out_proj->forward(attended);
    return batched ? out : out.squeeze(1);
  }

  // Projections: one GEMM for self-attention, else per input with slices of in_proj_weight.
  Tensor q, k, v;
  auto project = [&](const Tensor& x, int64_t first, int64_t count) {
    Tensor w = in_proj_weight.slice(0, first * e, (first + count) * e);
    Tensor b = in_proj_bias.defined() ? in_proj_bias.slice(0, first * e, (first + count) * e) : Tensor();
    return linear(x, w, b);
  };
  if (query.same(key) && key.same(value)) {
    std::vector<Tensor> qkv = chunk(linear(q_in, in_proj_weight, in_proj_bias), 3, -1);
    q = qkv[0];
    k = qkv[1];
    v = qkv[2];
  } else if (key.same(value)) {
    q = project(q_in, 0, 1);
    std::vector<Tensor> kv = chunk(project(k_in, 1, 2), 2, -1);
    k = kv[0];
    v = kv[1];
  } else {
    q = project(q_in, 0, 1);
    k = project(k_in, 1, 1);
    v = project(v_in, 2, 1);
  }
  // [T, B, E] or [B, T, E] -> [B, heads, T, head_dim].
  auto split_heads = [&](const Tensor& x, int64_t length) {
    return time_major ? x.reshape({length, batch, num_heads, head_dim}).permute({1, 2, 0, 3})
                      : x.reshape({batch, length, num_heads, head_dim}).permute({0, 2, 1, 3});
  };
  Tensor qh = split_heads(q, t), kh = split_heads(k, s), vh = split_heads(v, s);

  // All masks folded into one additive mask broadcastable to [B, heads, T, S].
  Tensor mask;
  auto combine = [&](const Tensor& m) { mask = mask.defined() ? add(mask, m) : m; };
  if (key_padding_mask.defined()) {
    const Shape expected = batched ? Shape({batch, s}) : Shape({s});
    NABLA_CHECK(key_padding_mask.shape() == expected, op, ": key_padding_mask must be ", expected,
                " ([batch, source length]) for key ", key.shape(), ", got ", key_padding_mask.shape());
    combine(additive_mask(key_padding_mask, "key_padding_mask").reshape({batch, 1, 1, s}));
  }
  if (attn_mask.defined()) {
    Tensor m = additive_mask(attn_mask, "attn_mask");
    if (m.dim() == 2 && m.shape() == Shape({t, s}))
      combine(m.reshape({1, 1, t, s}));
    else if (m.dim() == 3 && m.shape() == Shape({batch * num_heads, t, s}))
      combine(m.reshape({batch, num_heads, t, s}));
    else
      fail(op, ": attn_mask must be [T, S] = [", t, ", ", s, "] or [B * num_heads, T, S] = [", batch * num_heads, ", ",
           t, ", ", s, "], got ", attn_mask.shape());
  }
  // The fused kernel takes a mask or is_causal, not both: fold causality into a mask then.
  if (is_causal && (mask.defined() || drop)) {
    combine(causal_mask(t, s));
    is_causal = false;
  }

  Tensor attended;  // [B, heads, T, head_dim]
  if (!drop) {
    attended = scaled_dot_product_attention(qh, kh, vh, mask, is_causal);
  } else {
    // Dropout on the attention weights needs them materialised: the unfused composition.
    Tensor scores = mul(matmul(qh, kh.transpose(2, 3)), 1.0 / std::sqrt(double(head_dim)));
    if (mask.defined()) scores = add(scores, mask);
    attended = matmul(nabla::dropout(softmax(scores, -1), dropout, true), vh);
  }
  Tensor merged = time_major ? attended.permute({2, 0, 1, 3}).reshape({t, batch, e})
                             : attended.permute({0, 2, 1, 3}).reshape({batch, t, e});
  Tensor out = out_proj->forward(merged);
  return batched ? out : out.squeeze(1);
}

Tensor MultiheadAttention::forward(const Tensor& x) { return forward(x, x, x); }

std::string MultiheadAttention::extra_repr() const {
  return "embed_dim=" + std::to_string(embed_dim) + ", num_heads=" + std::to_string(num_heads) +
         (dropout > 0 ? ", dropout=" + std::to_string(dropout) : "") + (batch_first ? ", batch_first=true" : "");
}

const std::vector<std::string>& transformer_activations() {
  static const std::vector<std::string> names = {"gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu", "relu", "silu"};
  return names;
}

TransformerMLP::TransformerMLP(int64_t embed_dim, int64_t hidden_dim, const std::string& activation)
    : Module("TransformerMLP"), activation(activation) {
  const auto& known = transformer_activations();
  NABLA_CHECK(std::find(known.begin(), known.end(), activation) != known.end(), "TransformerMLP: unknown activation \"",
              activation, "\"; known: gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu, silu");
  fc = register_module("fc", std::make_shared<Linear>(embed_dim, hidden_dim));
  proj = register_module("proj", std::make_shared<Linear>(hidden_dim, embed_dim));
}

Tensor TransformerMLP::forward(const Tensor& x) {
  Tensor h = fc->forward(x);
  if (activation == "gelu")
    h = gelu(h, "none");
  else if (activation == "relu")
    h = relu(h);
  else if (activation == "silu")
    h = silu(h);
  else
    h = gelu(h, "tanh");  // gelu_new, gelu_pytorch_tanh and gelu_fast are one function
  return proj->forward(h);
}

TransformerBlock::TransformerBlock(int64_t embed_dim, int64_t num_heads, double mlp_ratio, double dropout, bool causal)
    : TransformerBlock(embed_dim, num_heads,
                       TransformerBlockOptions{.mlp_ratio = mlp_ratio, .dropout = dropout, .causal = causal}) {}

TransformerBlock::TransformerBlock(int64_t embed_dim, int64_t num_heads, const TransformerBlockOptions& o)
    : Module("TransformerBlock"), dropout(o.dropout), causal(o.causal) {
  const int64_t hidden = o.mlp_hidden > 0 ? o.mlp_hidden : int64_t(double(embed_dim) * o.mlp_ratio);
  NABLA_CHECK(o.mlp_hidden > 0 || (o.mlp_ratio > 0 && hidden > 0),
              "TransformerBlock: mlp_ratio must give a positive hidden width, got mlp_ratio=", o.mlp_ratio,
              " for embed_dim=", embed_dim);
  NABLA_CHECK(o.dropout >= 0 && o.dropout < 1, "TransformerBlock: dropout must be in [0, 1), got ", o.dropout);
  NABLA_CHECK(o.layer_norm_eps > 0, "TransformerBlock: layer_norm_eps must be positive, got ", o.layer_norm_eps);
  ln_1 = register_module("ln_1", std::make_shared<LayerNorm>(embed_dim, o.layer_norm_eps));
  attn = register_module("attn", std::make_shared<MultiheadAttention>(embed_dim, num_heads, 0.0, true, true));
  ln_2 = register_module("ln_2", std::make_shared<LayerNorm>(embed_dim, o.layer_norm_eps));
  mlp = register_module("mlp", std::make_shared<TransformerMLP>(embed_dim, hidden, o.activation));
}

Tensor TransformerBlock::forward(const Tensor& x) { return forward(x, Tensor()); }

Tensor TransformerBlock::forward(const Tensor& x, const Tensor& key_padding_mask) {
  Tensor h = ln_1->forward(x);
  Tensor y = add(x, nabla::dropout(attn->forward(h, h, h, key_padding_mask, Tensor(), causal), dropout, is_training()));
  return add(y, nabla::dropout(mlp->forward(ln_2->forward(y)), dropout, is_training()));
}

std::string TransformerBlock::extra_repr() const {
  return "embed_dim=" + std::to_string(attn->embed_dim) + ", num_heads=" + std::to_string(attn->num_heads) +
         (dropout > 0 ? ", dropout=" + std::to_string(dropout) : "") + (causal ? ", causal=true" : "");
}

}  // namespace nabla::nn
