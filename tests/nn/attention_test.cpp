// MultiheadAttention and TransformerBlock beyond the PyTorch goldens: parameter layout, the three
// projection paths agreeing, causality and padding as properties, the unfused dropout path, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "../error_message.h"
#include "nabla/nabla.h"

namespace nabla {
using test_support::error_of;
namespace {

void expect_near_all(const Tensor& a, const Tensor& b, double tol = 1e-5) {
  ASSERT_EQ(a.shape(), b.shape());
  std::vector<float> va = a.contiguous().to_vector<float>(), vb = b.contiguous().to_vector<float>();
  for (size_t i = 0; i < va.size(); ++i) ASSERT_NEAR(va[i], vb[i], tol) << "element " << i;
}

TEST(MultiheadAttention, ParametersAsPyTorch) {
  nn::MultiheadAttention mha(12, 3);
  auto params = mha.named_parameters();
  ASSERT_EQ(params.size(), 4u);
  EXPECT_EQ(params[0].first, "in_proj_weight");
  EXPECT_EQ(params[0].second.shape(), Shape({36, 12}));
  EXPECT_EQ(params[1].first, "in_proj_bias");
  EXPECT_EQ(params[2].first, "out_proj.weight");
  EXPECT_EQ(params[3].first, "out_proj.bias");
  for (float v : mha.in_proj_bias.to_vector<float>()) EXPECT_EQ(v, 0.0f);
  for (float v : mha.out_proj->bias.to_vector<float>()) EXPECT_EQ(v, 0.0f);
  const float xavier = std::sqrt(6.0f / (12 + 36));
  for (float v : mha.in_proj_weight.to_vector<float>()) EXPECT_LE(std::fabs(v), xavier);
  EXPECT_EQ(nn::MultiheadAttention(8, 2, 0.0, false).named_parameters().size(), 2u);
}

// Self-attention projects with one GEMM; key == value with two; distinct inputs with three.
TEST(MultiheadAttention, ProjectionPathsAgree) {
  manual_seed(1);
  nn::MultiheadAttention mha(16, 4);
  {
    NoGradGuard no_grad;
    mha.in_proj_bias.copy_(randn({48}));
  }
  Tensor x = randn({5, 2, 16});
  Tensor fused = mha.forward(x, x, x);
  Tensor x2 = x.clone();
  expect_near_all(mha.forward(x, x2, x2), fused);
  expect_near_all(mha.forward(x, x.clone(), x.clone()), fused);
  expect_near_all(mha.forward(x), fused);
}

TEST(MultiheadAttention, CausalOutputsIgnoreLaterPositions) {
  manual_seed(2);
  nn::MultiheadAttention mha(8, 2, 0.0, true, true);
  Tensor x = randn({2, 6, 8});
  Tensor changed = x.clone();
  {
    NoGradGuard no_grad;
    changed.select(1, 4).copy_(randn({2, 8}));
  }
  Tensor a = mha.forward(x, x, x, Tensor(), Tensor(), true),
         b = mha.forward(changed, changed, changed, Tensor(), Tensor(), true);
  expect_near_all(a.slice(1, 0, 4), b.slice(1, 0, 4), 1e-6);
  EXPECT_GT(std::fabs(a.at({0, 4, 0}) - b.at({0, 4, 0})), 1e-4);
}

TEST(MultiheadAttention, PaddedKeysDoNotMatter) {
  manual_seed(3);
  nn::MultiheadAttention mha(8, 2);
  Tensor q = randn({3, 2, 8}), kv = randn({5, 2, 8});
  Tensor padding = tensor({0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, {2, 5}).to(DType::boolean);  // batch 0: last two keys
  Tensor changed = kv.clone();
  {
    NoGradGuard no_grad;
    changed.select(0, 4).select(0, 0).copy_(randn({8}));
  }
  expect_near_all(mha.forward(q, kv, kv, padding), mha.forward(q, changed, changed, padding), 1e-6);
  // The same mask as f32 scores (-inf = ignore) and as a [T, S] attn_mask broadcast over the batch.
  Tensor additive = tensor({0, 0, 0, -INFINITY, -INFINITY, 0, 0, 0, 0, 0}, {2, 5});
  expect_near_all(mha.forward(q, kv, kv, additive), mha.forward(q, kv, kv, padding), 1e-6);
}

// With dropout in training the weights are formed explicitly; the same seed must reproduce the
// composition of plain ops, causal mask included.
TEST(MultiheadAttention, DropoutPathMatchesComposition) {
  manual_seed(4);
  const int64_t e = 8, heads = 2, t = 5, b = 2;
  nn::MultiheadAttention mha(e, heads, 0.3, true, true);
  Tensor x = randn({b, t, e});
  manual_seed(100);
  Tensor out = mha.forward(x, x, x, Tensor(), Tensor(), true);

  manual_seed(100);
  std::vector<Tensor> qkv = chunk(linear(x, mha.in_proj_weight, mha.in_proj_bias), 3, -1);
  auto heads_of = [&](const Tensor& y) { return y.reshape({b, t, heads, e / heads}).permute({0, 2, 1, 3}); };
  Tensor scores = mul(matmul(heads_of(qkv[0]), heads_of(qkv[1]).transpose(2, 3)), 1.0 / std::sqrt(double(e / heads)));
  Tensor causal = zeros({t, t});
  for (int64_t i = 0; i < t; ++i)
    for (int64_t j = i + 1; j < t; ++j) causal.data<float>()[i * t + j] = -INFINITY;
  Tensor weights = dropout(softmax(add(scores, causal), -1), 0.3, true);
  Tensor merged = matmul(weights, heads_of(qkv[2])).permute({0, 2, 1, 3}).reshape({b, t, e});
  expect_near_all(out, mha.out_proj->forward(merged));

  // Evaluation mode turns dropout off and takes the fused kernel: the same as without dropout.
  mha.eval();
  nn::MultiheadAttention plain(e, heads, 0.0, true, true);
  plain.load_state_dict(mha.state_dict());
  expect_near_all(mha.forward(x, x, x, Tensor(), Tensor(), true), plain.forward(x, x, x, Tensor(), Tensor(), true));
}

TEST(MultiheadAttention, BadInputIsAnErrorNamingTheProblem) {
  EXPECT_NE(error_of([] { nn::MultiheadAttention(10, 3); }).find("multiple of num_heads"), std::string::npos);
  nn::MultiheadAttention mha(8, 2);
  std::string message = error_of([&] { mha.forward(randn({4, 2, 6})); });
  EXPECT_NE(message.find("embed_dim = 8"), std::string::npos) << message;
  Tensor q = randn({4, 2, 8}), kv = randn({5, 2, 8});
  message = error_of([&] { mha.forward(q, kv, kv, zeros({2, 4}).to(DType::boolean)); });
  EXPECT_NE(message.find("key_padding_mask must be [2, 5]"), std::string::npos) << message;
  message = error_of([&] { mha.forward(q, kv, kv, Tensor(), zeros({4, 4})); });
  EXPECT_NE(message.find("attn_mask must be"), std::string::npos) << message;
  EXPECT_THROW(mha.forward(q, kv, randn({6, 2, 8})), Error);                // key and value lengths differ
  EXPECT_THROW(mha.forward(q, randn({5, 3, 8}), randn({5, 3, 8})), Error);  // batch differs
  EXPECT_THROW(mha.forward(q, kv, kv, zeros({2, 5}, DType::i64)), Error);   // integer mask
  EXPECT_THROW(mha.forward(randn({4, 8}), kv, kv), Error);                  // mixed ranks
}

TEST(TransformerBlock, ChildNamesAsGpt2) {
  nn::TransformerBlock block(16, 4);
  std::vector<std::string> names;
  for (auto& [name, p] : block.named_parameters()) names.push_back(name);
  const std::vector<std::string> expected = {
      "ln_1.weight",          "ln_1.bias",          "attn.in_proj_weight", "attn.in_proj_bias",
      "attn.out_proj.weight", "attn.out_proj.bias", "ln_2.weight",         "ln_2.bias",
      "mlp.fc.weight",        "mlp.fc.bias",        "mlp.proj.weight",     "mlp.proj.bias"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(block.mlp->fc->weight.shape(), Shape({64, 16}));
  EXPECT_EQ(nn::TransformerBlock(16, 4, 2.0).mlp->fc->weight.shape(), Shape({32, 16}));
}

TEST(TransformerBlock, CausalAndDropoutBehaviour) {
  manual_seed(6);
  nn::TransformerBlock block(8, 2, 4.0, 0.2);
  Tensor x = randn({2, 5, 8});
  Tensor changed = x.clone();
  {
    NoGradGuard no_grad;
    changed.select(1, 3).copy_(randn({2, 8}));
  }
  block.eval();
  Tensor a = block.forward(x), b = block.forward(changed);
  expect_near_all(a.slice(1, 0, 3), b.slice(1, 0, 3), 1e-6);
  EXPECT_EQ(block.forward(x).to_vector<float>(), a.to_vector<float>());  // eval: deterministic
  block.train();
  EXPECT_NE(block.forward(x).to_vector<float>(), a.to_vector<float>());  // residual dropout active
  Tensor out = block.forward(x);
  sum(out).backward();
  for (auto& [name, p] : block.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
}

}  // namespace
}  // namespace nabla
