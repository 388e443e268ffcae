#include "nabla/nn/keras_attention.h"

#include <cmath>

#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/ops/activation.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/linalg.h"
#include "nabla/ops/nn_functional.h"
#include "nabla/ops/reduce.h"

namespace nabla::nn {

KerasAttentionBase::KerasAttentionBase(const char* type, double dropout) : Module(type), dropout(dropout) {
  NABLA_CHECK(dropout >= 0 && dropout < 1, type, ": dropout must be in [0, 1), got ", dropout);
}

KerasAttentionOutput KerasAttentionBase::forward(const Tensor& query, const Tensor& value, const Tensor& key,
                                                 const Tensor& value_mask, const Tensor& query_mask, bool causal) {
  const Tensor& k = key.defined() ? key : value;
  NABLA_CHECK(query.defined() && value.defined() && query.dim() == 3 && value.dim() == 3 && k.dim() == 3, type_name(),
              ": query, value and key must be [batch, time, dim], got ", query.defined() ? query.shape() : Shape{},
              " and ", value.defined() ? value.shape() : Shape{});
  NABLA_CHECK(query.size(0) == value.size(0) && k.size(0) == value.size(0) && k.size(1) == value.size(1) &&
                  query.size(2) == k.size(2),
              type_name(), ": shapes do not fit: query ", query.shape(), ", value ", value.shape(), ", key ", k.shape(),
              " (batches and key/value lengths must agree, query and key widths too)");
  const int64_t tq = query.size(1), tv = value.size(1);
  Tensor s = scores(query, k);  // [B, Tq, Tv]
  // Keras masks by subtracting 1e9 where a key may not be attended (a fully masked row stays
  // finite): here s - (1 - allowed) * 1e9, the same numbers.
  Tensor allowed;  // f32 1 / 0, broadcast to [B, Tq, Tv]
  if (value_mask.defined()) {
    NABLA_CHECK(value_mask.dtype() == DType::boolean && value_mask.shape() == Shape({query.size(0), tv}), type_name(),
                ": value_mask must be bool [batch, Tv] = [", query.size(0), ", ", tv, "], got ", value_mask.shape());
    allowed = value_mask.to(DType::f32).unsqueeze(1);
  }
  if (causal) {
    Tensor lower = ge(arange(0, double(tq)).reshape({1, tq, 1}), arange(0, double(tv)).reshape({1, 1, tv}));
    allowed = allowed.defined() ? mul(allowed, lower.to(DType::f32)) : lower.to(DType::f32);
  }
  if (allowed.defined()) s = s - (1.0 - allowed) * 1.0e9;
  Tensor weights = softmax(s, -1);
  if (is_training() && dropout > 0) weights = nabla::dropout(weights, dropout, true);
  Tensor out = matmul(weights, value);
  if (query_mask.defined()) {
    NABLA_CHECK(query_mask.dtype() == DType::boolean && query_mask.shape() == Shape({query.size(0), tq}), type_name(),
                ": query_mask must be bool [batch, Tq], got ", query_mask.shape());
    out = where(query_mask.unsqueeze(-1), out, zeros({}));
  }
  return {out, weights};
}

Tensor KerasAttentionBase::forward(const Tensor& x) { return forward(x, x).output; }

KerasAttention::KerasAttention(bool use_scale, const std::string& score_mode, double dropout)
    : KerasAttentionBase("Attention", dropout), use_scale(use_scale), score_mode(score_mode) {
  NABLA_CHECK(score_mode == "dot" || score_mode == "concat",
              "Attention: score_mode must be \"dot\" or \"concat\", got \"", score_mode, "\"");
  if (use_scale) scale = register_parameter("scale", ones({}));
  if (score_mode == "concat") concat_score_weight = register_parameter("concat_score_weight", ones({}));
}

Tensor KerasAttention::scores(const Tensor& query, const Tensor& key) {
  if (score_mode == "dot") {
    Tensor s = matmul(query, key.transpose(-2, -1));
    return use_scale ? mul(s, scale) : s;
  }
  Tensor pairs = add(query.unsqueeze(-2), key.unsqueeze(-3));  // [B, Tq, Tv, dim]
  if (use_scale) pairs = mul(pairs, scale);
  return mul(sum(tanh(pairs), {-1}), concat_score_weight);
}

std::string KerasAttention::extra_repr() const {
  return std::string("use_scale=") + (use_scale ? "true" : "false") + ", score_mode=" + score_mode +
         ", dropout=" + std::to_string(dropout);
}

KerasAdditiveAttention::KerasAdditiveAttention(int64_t dim, bool use_scale, double dropout)
    : KerasAttentionBase("AdditiveAttention", dropout), dim(dim), use_scale(use_scale) {
  NABLA_CHECK(dim > 0, "AdditiveAttention: dim must be positive, got ", dim);
  if (use_scale) {
    // Keras' glorot_uniform for a vector: fan_in = fan_out = dim.
    const double limit = std::sqrt(6.0 / double(2 * dim));
    scale = register_parameter("scale", add(mul(rand({dim}), 2 * limit), -limit));
  }
}

Tensor KerasAdditiveAttention::scores(const Tensor& query, const Tensor& key) {
  NABLA_CHECK(query.size(-1) == dim, "AdditiveAttention: built for width ", dim, ", got inputs of width ",
              query.size(-1));
  Tensor t = tanh(add(query.unsqueeze(-2), key.unsqueeze(-3)));  // [B, Tq, Tv, dim]
  return sum(use_scale ? mul(t, scale) : t, {-1});
}

std::string KerasAdditiveAttention::extra_repr() const {
  return "dim=" + std::to_string(dim) + ", use_scale=" + (use_scale ? "true" : "false") +
         ", dropout=" + std::to_string(dropout);
}

}  // namespace nabla::nn
