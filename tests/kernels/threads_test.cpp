// Kernels that run GEMMs from inside their own parallel loops (fused attention, the recurrent
// kernels' batch slices) must give the same answer on every call: a cached oneDNN primitive used
// by several threads at once once shared one scratchpad between them, and GPT training at 2
// threads turned NaN now and then.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "nabla/kernels/matmul.h"
#include "nabla/kernels/parallel.h"
#include "nabla/nabla.h"

using namespace nabla;

namespace {

// Output and the three input gradients of causal attention on GPT small's shapes.
std::vector<std::vector<float>> attention_results(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g) {
  Tensor lq = q.clone().requires_grad_(), lk = k.clone().requires_grad_(), lv = v.clone().requires_grad_();
  Tensor out = scaled_dot_product_attention(lq, lk, lv, Tensor(), /*is_causal=*/true);
  sum(mul(out, g)).backward();
  return {out.to_vector<float>(), lq.grad().to_vector<float>(), lk.grad().to_vector<float>(),
          lv.grad().to_vector<float>()};
}

}  // namespace

TEST(Threads, FusedAttentionRepeatsBitForBitAtTwoThreads) {
  const int threads_before = num_threads();
  Generator gen(7);
  const Shape shape{8, 4, 128, 64};
  const Tensor q = randn(shape, gen), k = randn(shape, gen), v = randn(shape, gen), g = randn(shape, gen);
  set_num_threads(1);
  const auto one_thread = attention_results(q, k, v, g);
  set_num_threads(2);
  const auto first = attention_results(q, k, v, g);
  const char* names[] = {"output", "d q", "d k", "d v"};
  for (size_t i = 0; i < first.size(); ++i) {
    size_t far = 0;
    for (size_t j = 0; j < first[i].size(); ++j)
      far += !(std::fabs(first[i][j] - one_thread[i][j]) <= 1e-4f * (1 + std::fabs(one_thread[i][j])));
    EXPECT_EQ(far, 0u) << names[i] << ": elements away from the one-thread result";
  }
  for (int repeat = 0; repeat < 8; ++repeat) {
    const auto again = attention_results(q, k, v, g);
    for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(again[i], first[i]) << names[i] << ", repeat " << repeat;
  }
  set_num_threads(threads_before);
}

// The shapes and accumulation of the attention tiles that clashed, through kernels::matmul's
// cached primitives, on both threads at once; each thread's products against a serial run.
TEST(Threads, MatmulPrimitivesRunConcurrentlyOnWorkerThreads) {
  const int threads_before = num_threads();
  set_num_threads(2);
  Generator gen(11);
  const Tensor a = randn({2, 64, 128}, gen), b = randn({2, 128, 64}, gen);
  auto product = [&](int64_t slot, float* c) {
    using kernels::MatrixOperand;
    const MatrixOperand ma{a.data<float>() + slot * 64 * 128, DType::f32, 1, 0, 128, 1};
    const MatrixOperand mb{b.data<float>() + slot * 128 * 64, DType::f32, 1, 0, 64, 1};
    kernels::matmul(ma, mb, c, 1, 64, 128, 64);
    kernels::matmul(ma, mb, c, 1, 64, 128, 64, /*accumulate=*/true);  // 2 A B
  };
  std::vector<std::vector<float>> serial(2, std::vector<float>(64 * 64));
  for (int64_t slot = 0; slot < 2; ++slot) product(slot, serial[slot].data());
  std::vector<std::vector<float>> concurrent(2, std::vector<float>(64 * 64));
  int mismatches = 0;
#pragma omp parallel num_threads(2) reduction(+ : mismatches)
  for (int repeat = 0; repeat < 200; ++repeat) {
    const int64_t slot = omp_get_thread_num() % 2;
    std::vector<float> c(64 * 64);
    product(slot, c.data());
    mismatches += c != serial[slot];
  }
  EXPECT_EQ(mismatches, 0) << "products that differ from the serial run";
  set_num_threads(threads_before);
}
