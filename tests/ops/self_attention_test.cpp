// self_attention_heads against the composition it replaces: split the fused projection, attend
// over [B, heads, T, head_dim] views, merge the heads; values and gradients, both layouts.
#include <gtest/gtest.h>

#include <cmath>

#include "nabla/nabla.h"

using namespace nabla;

namespace {

Tensor composed(const Tensor& qkv, int64_t heads, bool causal, bool time_major) {
  const int64_t e = qkv.shape()[2] / 3, d = e / heads;
  const int64_t batch = qkv.shape()[time_major ? 1 : 0], t = qkv.shape()[time_major ? 0 : 1];
  auto split = [&](const Tensor& x) {
    return time_major ? x.reshape({t, batch, heads, d}).permute({1, 2, 0, 3})
                      : x.reshape({batch, t, heads, d}).permute({0, 2, 1, 3});
  };
  std::vector<Tensor> parts = chunk(qkv, 3, -1);
  Tensor o = scaled_dot_product_attention(split(parts[0]), split(parts[1]), split(parts[2]), Tensor(), causal);
  return time_major ? o.permute({2, 0, 1, 3}).reshape({t, batch, e}) : o.permute({0, 2, 1, 3}).reshape({batch, t, e});
}

void expect_close(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  size_t far = 0;
  for (size_t i = 0; i < x.size(); ++i) far += !(std::fabs(x[i] - y[i]) <= 1e-5f * (1 + std::fabs(y[i])));
  EXPECT_EQ(far, 0u) << what << ": elements that differ";
}

}  // namespace

TEST(SelfAttentionHeads, MatchesSplitAttendMergeInValueAndGradient) {
  Generator gen(3);
  for (bool time_major : {false, true})
    for (bool causal : {false, true}) {
      const std::string what = std::string(time_major ? "time-major" : "batch-first") + (causal ? " causal" : "");
      // 130 rows: whole 64- and 128-row tiles and a ragged last one.
      const Tensor x = randn(time_major ? Shape{130, 2, 3 * 48} : Shape{2, 130, 3 * 48}, gen);
      const Tensor g = randn(time_major ? Shape{130, 2, 48} : Shape{2, 130, 48}, gen);
      Tensor a = x.clone().requires_grad_(), b = x.clone().requires_grad_();
      Tensor fused = self_attention_heads(a, 3, causal, time_major), reference = composed(b, 3, causal, time_major);
      expect_close(fused, reference, what + " output");
      sum(mul(fused, g)).backward();
      sum(mul(reference, g)).backward();
      expect_close(a.grad(), b.grad(), what + " gradient");
    }
}

TEST(SelfAttentionHeads, RejectsAWidthItCannotSplit) {
  EXPECT_THROW(self_attention_heads(randn({2, 4, 10}), 2, false), Error);  // 10 is not 3 E
  EXPECT_THROW(self_attention_heads(randn({2, 4, 12}), 3, false), Error);  // E = 4 over 3 heads
  EXPECT_THROW(self_attention_heads(randn({4, 12}), 2, false), Error);     // no batch dimension
}
