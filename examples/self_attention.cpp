// The attention article's snippet: self-attention over a sequence of 512-wide embeddings. Each of
// the 10 positions of a batch of 2 attends to all 10 (softmax(Q K^T / sqrt(d)) V with Q = K = V =
// the input), first with Keras' Attention layer (which also returns the attention weights), then
// with 8-head attention as transformers use it. Prints shapes and the weights' row sums.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "nabla/nabla.h"
#include "nabla/nn/keras_attention.h"

using namespace nabla;

namespace {
std::string shape_of(const Tensor& t) { return (std::ostringstream() << t.shape()).str(); }
}  // namespace

int main() {
  manual_seed(0);
  const int64_t batch = 2, steps = 10, width = 512;
  Tensor x = randn({batch, steps, width});

  // Keras: Attention(use_scale=True)([x, x], return_attention_scores=True).
  nn::KerasAttention attention(/*use_scale=*/true);
  NoGradGuard no_grad;
  attention.scale.fill_(1.0 / std::sqrt(double(width)));  // the 1/sqrt(d) of scaled dot-product attention
  nn::KerasAttentionOutput out = attention.forward(x, x);
  std::printf("input                 %s\n", shape_of(x).c_str());
  std::printf("attention output      %s\n", shape_of(out.output).c_str());
  std::printf("attention weights     %s\n", shape_of(out.scores).c_str());
  const std::vector<float> row_sums = sum(out.scores, {-1}).reshape({-1}).to_vector<float>();
  float lo = row_sums[0], hi = row_sums[0];
  for (float s : row_sums) lo = std::min(lo, s), hi = std::max(hi, s);
  std::printf("weight rows sum to    %.6f .. %.6f\n", lo, hi);
  std::printf("position 0 attends    ");
  const std::vector<float> row0 = out.scores.select(0, 0).select(0, 0).to_vector<float>();
  for (float w : row0) std::printf("%.3f ", w);
  std::printf("\n");

  // Multi-head: 8 heads of 64, learned projections (torch.nn.MultiheadAttention's layout).
  nn::MultiheadAttention heads(width, 8, 0.0, true, /*batch_first=*/true);
  Tensor y = heads.forward(x, x, x);
  std::printf("8-head attention      %s -> %s\n", shape_of(x).c_str(), shape_of(y).c_str());
  return 0;
}
