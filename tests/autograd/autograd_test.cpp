// The backward engine: chain rule through shared subgraphs, accumulation, grad mode, graph
// freeing, and the errors users hit.
#include <gtest/gtest.h>

#include "nabla/nabla.h"

using namespace nabla;

TEST(Autograd, ChainRuleThroughASharedSubgraph) {
  Tensor x = tensor({2.0f}).requires_grad_();
  Tensor y = mul(x, x);          // x^2
  Tensor z = add(mul(y, x), y);  // x^3 + x^2
  z.sum().backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 3 * 4 + 2 * 2);  // 3x^2 + 2x
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor w = tensor({1.0f, 2.0f}).requires_grad_();
  for (int i = 0; i < 3; ++i) mul(w, 2.0).sum().backward();
  EXPECT_EQ(w.grad().to_vector<float>(), std::vector<float>({6, 6}));
}

// A fresh gradient becomes .grad without a copy only when nothing else holds it: two leaves
// handed the same gradient tensor (add's backward) still get buffers of their own.
TEST(Autograd, LeavesSharingOneGradientGetSeparateBuffers) {
  Tensor a = tensor({1.0f, 2.0f}).requires_grad_(), b = tensor({3.0f, 4.0f}).requires_grad_();
  Tensor w = tensor({5.0f, 6.0f}).requires_grad_();
  mul(add(a, b), w).sum().backward();
  EXPECT_NE(a.grad().raw_data(), b.grad().raw_data());
  a.grad().add_(tensor({100.0f, 100.0f}));
  EXPECT_EQ(b.grad().to_vector<float>(), std::vector<float>({5, 6}));
  EXPECT_EQ(a.grad().to_vector<float>(), std::vector<float>({105, 106}));
  EXPECT_EQ(w.grad().to_vector<float>(), std::vector<float>({4, 6}));
  mul(add(a, b), w).sum().backward();  // the second pass accumulates into the kept buffers
  EXPECT_EQ(b.grad().to_vector<float>(), std::vector<float>({10, 12}));
  EXPECT_EQ(w.grad().to_vector<float>(), std::vector<float>({8, 12}));
}

TEST(Autograd, NonScalarBackwardNeedsAGradient) {
  Tensor x = tensor({1.0f, 2.0f}).requires_grad_();
  Tensor y = mul(x, 3.0);
  EXPECT_THROW(y.backward(), Error);
  y.backward(tensor({1.0f, 10.0f}));
  EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>({3, 30}));
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = tensor({1.0f}).requires_grad_();
  NoGradGuard guard;
  Tensor y = mul(x, 2.0);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Autograd, DetachCutsTheGraph) {
  Tensor x = tensor({3.0f}).requires_grad_();
  Tensor y = mul(x, x.detach());
  y.sum().backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 3.0f);  // only the non-detached factor contributes
}

TEST(Autograd, GraphIsFreedAfterBackward) {
  Tensor x = tensor({1.0f}).requires_grad_();
  Tensor y = exp(x).sum();
  y.backward();
  try {
    y.backward();
    FAIL() << "a second backward through a freed graph must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("second time"), std::string::npos);
  }
}

TEST(Autograd, InPlaceChangeOfASavedTensorIsCaught) {
  Tensor x = tensor({1.0f, 2.0f}).requires_grad_();
  Tensor y = exp(x);  // saves its output
  Tensor z = y.sum();
  {
    NoGradGuard no_grad;
    y.add_(ones({2}));
  }
  try {
    z.backward();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("modified in place"), std::string::npos);
  }
}

TEST(Autograd, InPlaceOnALeafThatRequiresGradIsRefused) {
  Tensor w = zeros({2}).requires_grad_();
  EXPECT_THROW(w.add_(ones({2})), Error);
  NoGradGuard no_grad;
  EXPECT_NO_THROW(w.add_(ones({2})));
}

TEST(Autograd, BackwardWithoutGraphExplainsWhy) {
  Tensor x = tensor({1.0f});
  EXPECT_THROW(x.sum().backward(), Error);
}

TEST(Autograd, BranchesWithoutGradientDoNotBlockOthers) {
  // index input (no grad) and a float path into the same node.
  Tensor w = randn({5, 3}).requires_grad_();
  Tensor idx = tensor_i64({0, 4, 4});
  Tensor e = embedding(idx, w);
  Tensor loss = add(e.sum(), mul(w, 0.0).sum());
  loss.backward();
  std::vector<float> g = w.grad().to_vector<float>();
  EXPECT_EQ(g[0], 1.0f);
  EXPECT_EQ(g[4 * 3], 2.0f);  // row 4 used twice
  EXPECT_EQ(g[1 * 3], 0.0f);
}

TEST(Autograd, GradHooksRunAfterAccumulation) {
  Tensor w = ones({2}).requires_grad_();
  int calls = 0;
  w.register_grad_hook([&](const Tensor& leaf) {
    ++calls;
    EXPECT_TRUE(leaf.grad().defined());
  });
  mul(w, 2.0).sum().backward();
  EXPECT_EQ(calls, 1);
}

TEST(Autograd, ForwardWithoutBackwardFreesEverything) {
  // Ops that save their own output must not keep their graph alive through it.
  Tensor w = randn({16, 16}).requires_grad_();
  auto forward = [&] {
    Tensor x = randn({4, 16});
    Tensor h = sigmoid(matmul(x, w));
    h = softmax(tanh(exp(h)), -1);
    Tensor q = h.reshape({1, 1, 4, 16});
    return sqrt(add(scaled_dot_product_attention(q, q, q, Tensor(), true), 2.0)).sum();
  };
  forward();  // warm the allocator's size classes
  const uint64_t before = CachingAllocator::instance().stats().bytes_in_use;
  for (int i = 0; i < 3; ++i) forward();
  EXPECT_EQ(CachingAllocator::instance().stats().bytes_in_use, before);
}
