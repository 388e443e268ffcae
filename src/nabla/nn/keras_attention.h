// Keras' attention layers, for the articles' Keras programs: Attention (Luong-style dot product)
// and AdditiveAttention (Bahdanau-style), with Keras' inputs ([query, value(, key)]), weights,
// masks and outputs (keras/src/layers/attention/attention.py, additive_attention.py).
#pragma once
#include <string>

#include "nabla/nn/module.h"

namespace nabla::nn {

struct KerasAttentionOutput {
  Tensor output;  // [B, Tq, dim]
  Tensor scores;  // the attention distribution, [B, Tq, Tv] (after masks and softmax)
};

// What both layers share: scores from (query, key), then masks, softmax, dropout and the weighted
// sum of values.
class KerasAttentionBase : public Module {
 public:
  // query [B, Tq, dim], value [B, Tv, dim], key [B, Tv, dim] (undefined: value is the key).
  // value_mask bool [B, Tv]: false keys take no weight; query_mask bool [B, Tq]: false rows of the
  // output are zero; causal: query i attends keys j <= i.
  KerasAttentionOutput forward(const Tensor& query, const Tensor& value, const Tensor& key = Tensor(),
                               const Tensor& value_mask = Tensor(), const Tensor& query_mask = Tensor(),
                               bool causal = false);
  // Self-attention [x, x], as `Attention()([x, x])`.
  Tensor forward(const Tensor& x) override;

  const double dropout;

 protected:
  KerasAttentionBase(const char* type, double dropout);
  virtual Tensor scores(const Tensor& query, const Tensor& key) = 0;
};

// Attention(use_scale, score_mode): scores = q k^T (x scale), or for score_mode "concat"
// concat_score_weight * sum(tanh(scale (q + k)), -1). Weights "scale" and "concat_score_weight"
// are scalars initialised to 1, as in Keras.
class KerasAttention : public KerasAttentionBase {
 public:
  explicit KerasAttention(bool use_scale = false, const std::string& score_mode = "dot", double dropout = 0.0);
  std::string extra_repr() const override;

  Tensor scale, concat_score_weight;  // undefined unless use_scale / score_mode "concat"
  const bool use_scale;
  const std::string score_mode;

 protected:
  Tensor scores(const Tensor& query, const Tensor& key) override;
};

// AdditiveAttention(use_scale): scores = sum(scale * tanh(q + k), -1), scale a [dim] vector drawn
// glorot-uniform as in Keras (built with the input width).
class KerasAdditiveAttention : public KerasAttentionBase {
 public:
  explicit KerasAdditiveAttention(int64_t dim, bool use_scale = true, double dropout = 0.0);
  std::string extra_repr() const override;

  Tensor scale;  // [dim], undefined without use_scale
  const int64_t dim;
  const bool use_scale;

 protected:
  Tensor scores(const Tensor& query, const Tensor& key) override;
};

}  // namespace nabla::nn
