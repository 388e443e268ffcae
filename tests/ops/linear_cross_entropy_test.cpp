// linear_cross_entropy against the unfused cross_entropy(matmul(x, w^T)) it replaces, where the op
// registry's small cases cannot reach: many blocks of rows, bf16 autocast, the predicted classes.
// (Forward and gradients against PyTorch and finite differences: the registry's cases.)
#include <gtest/gtest.h>

#include <cmath>

#include "nabla/nabla.h"

using namespace nabla;

namespace {

struct Result {
  double loss;
  Tensor dx, dw;
};

// 1,000 rows against 40,000 classes: the op takes them in three blocks of 419 rows.
struct Problem {
  Tensor x = mul(randn({1000, 24}), 0.5), w = mul(randn({40000, 24}), 0.5);
  Tensor y = randint(0, 40000, {1000});
  Problem() {
    std::vector<int64_t> t = y.to_vector<int64_t>();
    for (size_t i = 0; i < t.size(); i += 7) t[i] = -100;  // ignored rows in every block
    y = tensor_i64(t, {1000});
  }
};

Result run(const Problem& p, bool fused, const CrossEntropyOptions& options = {}) {
  Tensor x = p.x.detach().requires_grad_(), w = p.w.detach().requires_grad_();
  Tensor loss = fused ? linear_cross_entropy(x, w, p.y, options) : cross_entropy(matmul(x, w.t()), p.y, options);
  loss.backward();
  return {loss.item<double>(), x.grad(), w.grad()};
}

double max_relative(const Tensor& a, const Tensor& b) {
  const std::vector<float> u = a.contiguous().to_vector<float>(), v = b.contiguous().to_vector<float>();
  double worst = 0, scale = 0;
  for (float f : v) scale = std::max(scale, double(std::fabs(f)));
  for (size_t i = 0; i < u.size(); ++i) worst = std::max(worst, std::fabs(double(u[i]) - v[i]) / scale);
  return worst;
}

}  // namespace

TEST(LinearCrossEntropy, ManyBlocksMatchTheUnfusedLoss) {
  manual_seed(3);
  const Problem p;
  for (const CrossEntropyOptions& options :
       {CrossEntropyOptions{}, CrossEntropyOptions{-100, 0.1, "mean"}, CrossEntropyOptions{-100, 0.0, "sum"}}) {
    const Result fused = run(p, true, options), plain = run(p, false, options);
    EXPECT_NEAR(fused.loss, plain.loss, 1e-5 * std::fabs(plain.loss)) << options.reduction;
    EXPECT_LT(max_relative(fused.dx, plain.dx), 1e-5) << options.reduction;
    EXPECT_LT(max_relative(fused.dw, plain.dw), 1e-5) << options.reduction;
  }
}

TEST(LinearCrossEntropy, Bf16AutocastMatchesTheUnfusedLossUnderAutocast) {
  manual_seed(4);
  const Problem p;
  AutocastGuard autocast(DType::bf16);
  const Result fused = run(p, true), plain = run(p, false);
  EXPECT_NEAR(fused.loss, plain.loss, 1e-5 * std::fabs(plain.loss));
  // The same bf16 operands and f32 accumulation; blocking may change the order of the sums only.
  EXPECT_LT(max_relative(fused.dx, plain.dx), 1e-4);
  EXPECT_LT(max_relative(fused.dw, plain.dw), 1e-4);
}

TEST(LinearCrossEntropy, PredictedClassesAreTheScoresArgmax) {
  manual_seed(5);
  const Problem p;
  Tensor predicted;
  NoGradGuard no_grad;
  linear_cross_entropy(p.x, p.w, p.y, {}, &predicted);
  EXPECT_EQ(predicted.shape(), p.y.shape());
  EXPECT_EQ(predicted.to_vector<int64_t>(), argmax(matmul(p.x, p.w.t()), -1).to_vector<int64_t>());
}

TEST(LinearCrossEntropy, UpstreamGradientScalesBothGradients) {
  manual_seed(6);
  Tensor x = randn({5, 3}).requires_grad_(), w = randn({4, 3}).requires_grad_();
  const Tensor y = tensor_i64({0, 1, 2, 3, 1}, {5});
  mul(linear_cross_entropy(x, w, y), 2.5).backward();
  Tensor x2 = x.detach().requires_grad_(), w2 = w.detach().requires_grad_();
  mul(cross_entropy(matmul(x2, w2.t()), y), 2.5).backward();
  EXPECT_LT(max_relative(x.grad(), x2.grad()), 1e-6);
  EXPECT_LT(max_relative(w.grad(), w2.grad()), 1e-6);
}

TEST(LinearCrossEntropy, AllRowsIgnoredGiveNanLikeCrossEntropy) {
  const Tensor loss = linear_cross_entropy(ones({2, 3}), ones({4, 3}), tensor_i64({-100, -100}, {2}));
  EXPECT_TRUE(std::isnan(loss.item<double>()));
}
