#include "nabla/kernels/binary_cross_entropy.h"

#include <algorithm>
#include <cmath>

namespace nabla::kernels {
namespace {

float bce(float p, float y, float w) {
  return -w * (y * std::max(std::log(p), -100.0f) + (1 - y) * std::max(std::log1p(-p), -100.0f));
}
float bce_grad(float p, float y, float w) { return w * (p - y) / std::max((1 - p) * p, 1e-12f); }

// (1 - y) x + (1 + (pw - 1) y) (log1p(exp(-|x|)) + max(-x, 0)).
float bce_logits(float x, float y, float pw) {
  const float log_weight = 1 + (pw - 1) * y;
  return (1 - y) * x + log_weight * (std::log1p(std::exp(-std::fabs(x))) + std::max(-x, 0.0f));
}
float bce_logits_grad(float x, float y, float pw) {
  const float log_weight = 1 + (pw - 1) * y;
  return (1 - y) - log_weight / (1 + std::exp(x));
}

}  // namespace

void bce_forward(const float* p, const float* y, const float* w, float* loss, int64_t n) {
  for (int64_t i = 0; i < n; ++i) loss[i] = bce(p[i], y[i], w ? w[i] : 1.0f);
}

void bce_backward(const float* p, const float* y, const float* w, const float* g, float* dp, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dp[i] = g[i] * bce_grad(p[i], y[i], w ? w[i] : 1.0f);
}

void bce_with_logits_forward(const float* x, const float* y, const float* pos_weight, float* loss, int64_t n) {
  for (int64_t i = 0; i < n; ++i) loss[i] = bce_logits(x[i], y[i], pos_weight ? pos_weight[i] : 1.0f);
}

void bce_with_logits_backward(const float* x, const float* y, const float* pos_weight, const float* g, float* dx,
                              int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * bce_logits_grad(x[i], y[i], pos_weight ? pos_weight[i] : 1.0f);
}

}  // namespace nabla::kernels
