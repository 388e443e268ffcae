// Forward values checked against hand-computed results, plus cross-checks between fused
// kernels and their unfused compositions (attention, cross-entropy, bf16 matmul).
#include <gtest/gtest.h>

#include <cmath>

#include "nabla/kernels/matmul.h"
#include "nabla/nabla.h"

using namespace nabla;

namespace {
void expect_close(const Tensor& a, const Tensor& b, float tol = 1e-5f) {
  ASSERT_EQ(a.shape(), b.shape());
  std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], y[i], tol * (1 + std::fabs(y[i]))) << "element " << i;
}
}  // namespace

TEST(Forward, ArithmeticBroadcastsLikeNumPy) {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor({10, 20, 30});
  EXPECT_EQ((a + b).to_vector<float>(), std::vector<float>({11, 22, 33, 14, 25, 36}));
  EXPECT_EQ((a * tensor({2, 3}, {2, 1})).to_vector<float>(), std::vector<float>({2, 4, 6, 12, 15, 18}));
  EXPECT_EQ((1.0 - a).to_vector<float>()[0], 0.0f);
  EXPECT_EQ(where(gt(a, full({}, 3.0)), a, zeros({})).to_vector<float>(), std::vector<float>({0, 0, 0, 4, 5, 6}));
  EXPECT_EQ(eq(tensor_i64({1, 2}), tensor_i64({1, 3})).to_vector<bool>(), std::vector<bool>({true, false}));
}

// Outputs of 8 MB and more take the streaming-store path; an odd length leaves a ragged tail.
TEST(Forward, LargeElementwiseOutputsStreamCorrectly) {
  const int64_t n = (int64_t(8) << 20) / 4 * 3 + 37;
  Tensor a = arange(0, double(n)), b = full({n}, 0.5);
  std::vector<float> sum = (a + b).to_vector<float>(), e = exp(a * 0.0).to_vector<float>();
  for (int64_t i : {int64_t(0), int64_t(31), int64_t(32), n / 2 + 5, n - 37, n - 1}) {
    EXPECT_EQ(sum[i], float(i) + 0.5f) << "element " << i;
    EXPECT_FLOAT_EQ(e[i], 1.0f) << "element " << i;
  }
  Tensor tail = (a.narrow(0, 3, n - 3) + b.narrow(0, 3, n - 3)).narrow(0, 1, 8);  // unaligned operands
  EXPECT_EQ(tail.to_vector<float>()[0], 4.5f);
}

TEST(Forward, ActivationsMatchTheirDefinitions) {
  Tensor x = linspace(-6, 6, 97);
  std::vector<float> v = x.to_vector<float>();
  std::vector<float> s = sigmoid(x).to_vector<float>(), t = tanh(x).to_vector<float>(), g = gelu(x).to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_NEAR(s[i], 1 / (1 + std::exp(-v[i])), 1e-6);
    EXPECT_NEAR(t[i], std::tanh(v[i]), 1e-6 * (1 + std::fabs(std::tanh(v[i]))));
    EXPECT_NEAR(g[i], 0.5 * v[i] * (1 + std::erf(v[i] / std::sqrt(2.0))), 2e-6);
  }
  // tanh keeps relative accuracy near zero (the vector path uses a polynomial there).
  EXPECT_NEAR(tanh(tensor({1e-4f})).item() / 1e-4f, 1.0f, 1e-6);
  EXPECT_NEAR(softmax(tensor({1, 2, 3}), 0).sum().item(), 1.0f, 1e-6);
  Tensor big = tensor({1000, 1001});
  EXPECT_NEAR(log_softmax(big, 0).to_vector<float>()[1], -std::log1p(std::exp(-1.0f)), 1e-5);
}

TEST(Forward, ReductionsOverAnyDims) {
  Tensor x = arange(0.0, 24.0).reshape({2, 3, 4});
  EXPECT_EQ(sum(x).item(), 276.0f);
  EXPECT_EQ(sum(x, {0, 2}).to_vector<float>(), std::vector<float>({60, 92, 124}));
  EXPECT_EQ(sum(x, {1}, true).shape(), Shape({2, 1, 4}));
  EXPECT_EQ(mean(x, {-1}).to_vector<float>()[0], 1.5f);
  EXPECT_NEAR(var(tensor({1, 2, 3, 4})).item(), 5.0f / 3.0f, 1e-6);
  EXPECT_NEAR(var(tensor({1, 2, 3, 4}), {}, 0).item(), 1.25f, 1e-6);
  auto [values, indices] = max(tensor({3, 9, 2, 7, 1, 8}, {2, 3}), 1);
  EXPECT_EQ(values.to_vector<float>(), std::vector<float>({9, 8}));
  EXPECT_EQ(indices.to_vector<int64_t>(), std::vector<int64_t>({1, 2}));
  EXPECT_EQ(argmax(tensor({3, 9, 2, 7, 1, 8}, {2, 3}), 0).to_vector<int64_t>(), std::vector<int64_t>({1, 0, 1}));
  EXPECT_NEAR(norm(tensor({3, 4})).item(), 5.0f, 1e-6);
  // Large sums stay accurate.
  EXPECT_NEAR(sum(ones({1 << 20})).item(), float(1 << 20), 1.0f);
}

// Sums of millions of values keep f32 precision: 16.8M copies of 0.1 summed in f32 lanes alone
// would be off in the third digit; whole rows, columns and the variance all stay within 1e-6.
TEST(Forward, LongReductionsStayAccurate) {
  const int64_t n = int64_t(1) << 24;
  Tensor x = full({n}, 0.1f);
  EXPECT_NEAR(mean(x).item(), 0.1, 1e-7);
  EXPECT_NEAR(sum(x).item() / double(n), 0.1, 1e-7);
  Tensor columns = mean(full({n / 4, 4}, 0.1f), {0});
  for (float c : columns.to_vector<float>()) EXPECT_NEAR(c, 0.1, 1e-7);
  // Alternating 0.25, 0.75: the variance is 0.0625 exactly.
  Tensor alternating = tensor({0.25f, 0.75f}, {1, 2}).expand({n / 2, 2}).contiguous().reshape({n});
  EXPECT_NEAR(var(alternating, {}, 0).item(), 0.0625, 1e-7);
  Tensor rows = sum(full({3, n / 8}, 0.1f), {1});  // a few long rows share the threads block by block
  for (float r : rows.to_vector<float>()) EXPECT_NEAR(r / double(n / 8), 0.1, 1e-7);
}

TEST(Forward, MatmulMatchesNaiveProduct) {
  for (auto [m, k, n] : {std::tuple{3, 4, 5}, std::tuple{64, 100, 33}, std::tuple{1, 512, 7}}) {
    Tensor a = randn({m, k}), b = randn({k, n});
    Tensor c = matmul(a, b);
    std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>(), cv = c.to_vector<float>();
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double ref = 0;
        for (int q = 0; q < k; ++q) ref += double(av[i * k + q]) * bv[q * n + j];
        EXPECT_NEAR(cv[i * n + j], ref, 1e-4 * (1 + std::fabs(ref)));
      }
  }
}

// Operands walked along k in 4 KB steps are copied to padded rows first (the weight gradient of a
// 1024-wide layer); the product, accumulation included, must be the plain one.
TEST(Forward, MatmulWithCacheAliasedStridesMatchesNaiveProduct) {
  const int64_t m = 1024, k = 96, n = 2048;
  Tensor g = randn({k, m}), x = randn({k, n}), c0 = randn({m, n});
  Tensor a = g.transpose(0, 1);  // [m, k] with stride 1024 along k
  std::vector<float> gv = g.to_vector<float>(), xv = x.to_vector<float>(), cv = c0.to_vector<float>();
  std::vector<float> out = cv;
  kernels::MatrixOperand ao{g.data<float>(), DType::f32, 1, 0, 1, m}, bo{x.data<float>(), DType::f32, 1, 0, n, 1};
  kernels::matmul(ao, bo, out.data(), 1, m, k, n, /*accumulate=*/true);
  std::vector<float> plain = matmul(a, x).to_vector<float>();
  for (int64_t i = 0; i < m; i += 37)
    for (int64_t j = 0; j < n; j += 11) {
      double ref = 0;
      for (int64_t q = 0; q < k; ++q) ref += double(gv[q * m + i]) * xv[q * n + j];
      EXPECT_NEAR(plain[i * n + j], ref, 1e-4 * (1 + std::fabs(ref))) << i << "," << j;
      EXPECT_NEAR(out[i * n + j], ref + cv[i * n + j], 1e-4 * (1 + std::fabs(ref))) << i << "," << j;
    }
}

// Operands walked along k in 2 KB steps (the weight gradient of a 512-wide layer) are multiplied
// the other way round, C^T = B^T A^T, and C is written from the transpose; with and without
// accumulation the product must be the plain one.
TEST(Forward, MatmulWithHalfAliasedStrideMatchesNaiveProduct) {
  const int64_t m = 512, k = 200, n = 72;
  Tensor g = randn({k, m}), x = randn({k, n}), c0 = randn({m, n});
  std::vector<float> gv = g.to_vector<float>(), xv = x.to_vector<float>(), cv = c0.to_vector<float>();
  kernels::MatrixOperand ao{g.data<float>(), DType::f32, 1, 0, 1, m}, bo{x.data<float>(), DType::f32, 1, 0, n, 1};
  for (const bool accumulate : {false, true}) {
    std::vector<float> out = cv;
    kernels::matmul(ao, bo, out.data(), 1, m, k, n, accumulate);
    for (int64_t i = 0; i < m; i += 7)
      for (int64_t j = 0; j < n; j += 5) {
        double ref = accumulate ? cv[i * n + j] : 0.0;
        for (int64_t q = 0; q < k; ++q) ref += double(gv[q * m + i]) * xv[q * n + j];
        ASSERT_NEAR(out[i * n + j], ref, 1e-4 * (1 + std::fabs(ref))) << i << "," << j << " accumulate " << accumulate;
      }
  }
}

// One to four rows of A (decoding a token at a time) take the matrix-vector loops, with B read
// along k (a transposed weight) or along n; ragged column counts, accumulation, and sizes on both
// sides of the threading grain must all give the plain product.
TEST(Forward, MatrixVectorProductsMatchNaiveProduct) {
  for (auto [m, k, n] :
       {std::tuple{1, 384, 1539}, std::tuple{3, 100, 70}, std::tuple{4, 1536, 389}, std::tuple{2, 33, 2050}})
    for (const bool transposed_b : {true, false})
      for (const bool accumulate : {false, true}) {
        Tensor a = randn({m, k}), b = transposed_b ? randn({n, k}) : randn({k, n}), c0 = randn({m, n});
        std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>(), out = c0.to_vector<float>();
        const std::vector<float> before = out;
        kernels::MatrixOperand ao{a.data<float>(), DType::f32, 1, 0, k, 1};
        kernels::MatrixOperand bo = transposed_b ? kernels::MatrixOperand{b.data<float>(), DType::f32, 1, 0, 1, k}
                                                 : kernels::MatrixOperand{b.data<float>(), DType::f32, 1, 0, n, 1};
        kernels::matmul(ao, bo, out.data(), 1, m, k, n, accumulate);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double ref = accumulate ? before[i * n + j] : 0.0;
            for (int64_t q = 0; q < k; ++q)
              ref += double(av[i * k + q]) * (transposed_b ? bv[j * k + q] : bv[q * n + j]);
            ASSERT_NEAR(out[i * n + j], ref, 1e-4 * (1 + std::fabs(ref)))
                << m << "x" << k << "x" << n << " at " << i << "," << j << (transposed_b ? " B^T" : " B")
                << (accumulate ? " accumulate" : "");
          }
      }
}

TEST(Forward, Bf16MatmulAccumulatesInF32) {
  Tensor a = randn({64, 96}), b = randn({96, 48});
  Tensor ref = matmul(a.to(DType::bf16).to(DType::f32), b.to(DType::bf16).to(DType::f32));
  Tensor out = matmul(a.to(DType::bf16), b.to(DType::bf16));
  EXPECT_EQ(out.dtype(), DType::f32);
  expect_close(out, ref, 1e-4f);
}

TEST(Forward, FusedAttentionMatchesTheUnfusedComposition) {
  for (bool causal : {false, true}) {
    Tensor q = randn({2, 3, 130, 16}), k = randn({2, 3, 130, 16}), v = randn({2, 3, 130, 8});
    Tensor scores = mul(matmul(q, k.transpose(-1, -2)), 0.25);
    if (causal) {
      std::vector<float> mask(130 * 130);
      for (int i = 0; i < 130; ++i)
        for (int j = 0; j < 130; ++j) mask[i * 130 + j] = j > i ? -INFINITY : 0.0f;
      scores = add(scores, tensor(mask, {130, 130}));
    }
    Tensor reference = matmul(softmax(scores, -1), v);
    expect_close(scaled_dot_product_attention(q, k, v, Tensor(), causal), reference, 1e-4f);
  }
}

// Without gradients, strided operands (a KV cache's first positions, a permuted projection, a
// 3-D prefix, a broadcast key) are read in place; each must give what its packed copy gives.
TEST(Forward, FusedAttentionReadsStridedOperandsInPlace) {
  NoGradGuard no_grad;
  Tensor cache_k = randn({2, 3, 256, 16}), cache_v = randn({2, 3, 256, 8});
  Tensor q = randn({2, 5, 3, 16}).permute({0, 2, 1, 3});  // [2, 3, 5, 16], heads 16 floats apart
  Tensor k = cache_k.narrow(2, 0, 200), v = cache_v.narrow(2, 0, 200);
  ASSERT_FALSE(k.is_contiguous());
  for (bool causal : {false, true}) {
    Tensor packed = scaled_dot_product_attention(q.contiguous(), k.contiguous(), v.contiguous(), Tensor(), causal);
    EXPECT_EQ(scaled_dot_product_attention(q, k, v, Tensor(), causal).to_vector<float>(), packed.to_vector<float>());
  }
  Tensor k3 = randn({4, 300, 16}).narrow(1, 0, 170), v3 = randn({4, 300, 8}).narrow(1, 0, 170), q3 = randn({4, 7, 16});
  EXPECT_EQ(scaled_dot_product_attention(q3, k3, v3).to_vector<float>(),
            scaled_dot_product_attention(q3, k3.contiguous(), v3.contiguous()).to_vector<float>());
  Tensor shared_k = randn({1, 1, 64, 16}).expand({2, 3, 64, 16}), v4 = randn({2, 3, 64, 8});
  EXPECT_EQ(scaled_dot_product_attention(q, shared_k, v4).to_vector<float>(),
            scaled_dot_product_attention(q, shared_k.contiguous(), v4).to_vector<float>());
}

// 130 positions: a whole 128-row backward tile (split in row halves where the causal diagonal
// crosses it) and a ragged last one.
TEST(Forward, FusedAttentionGradientsMatchTheUnfusedComposition) {
  const int64_t t = 130;
  for (bool causal : {false, true}) {
    Tensor q = randn({1, 2, t, 16}).requires_grad_(), k = randn({1, 2, t, 16}).requires_grad_(),
           v = randn({1, 2, t, 16}).requires_grad_();
    Tensor g = randn({1, 2, t, 16});
    sum(mul(scaled_dot_product_attention(q, k, v, Tensor(), causal), g)).backward();
    std::vector<Tensor> fused{q.grad(), k.grad(), v.grad()};
    Tensor q2 = q.detach().clone().requires_grad_(), k2 = k.detach().clone().requires_grad_(),
           v2 = v.detach().clone().requires_grad_();
    Tensor scores = mul(matmul(q2, k2.transpose(-1, -2)), 0.25);
    if (causal) {
      std::vector<float> mask(size_t(t * t));
      for (int64_t i = 0; i < t; ++i)
        for (int64_t j = 0; j < t; ++j) mask[size_t(i * t + j)] = j > i ? -INFINITY : 0.0f;
      scores = add(scores, tensor(mask, {t, t}));
    }
    sum(mul(matmul(softmax(scores, -1), v2), g)).backward();
    expect_close(fused[0], q2.grad(), 1e-4f);
    expect_close(fused[1], k2.grad(), 1e-4f);
    expect_close(fused[2], v2.grad(), 1e-4f);
  }
}

TEST(Forward, CrossEntropyEqualsLogSoftmaxPlusNll) {
  Tensor logits = randn({6, 5}), target = tensor_i64({0, 4, 2, 2, 1, 3});
  expect_close(cross_entropy(logits, target), nll_loss(log_softmax(logits, 1), target));
  // label smoothing: (1 - eps) * nll + eps * mean over classes of -log p
  Tensor logp = log_softmax(logits, 1);
  Tensor expected = add(mul(nll_loss(logp, target), 0.9), mul(neg(mean(logp)), 0.1));
  expect_close(cross_entropy(logits, target, {-100, 0.1, "mean"}), expected);
}

TEST(Forward, ConvolutionMatchesDirectLoops) {
  Tensor x = randn({2, 3, 6, 5}), w = randn({4, 3, 3, 2}), b = randn({4});
  Tensor y = conv2d(x, w, b, {{2, 1}, {1, 0}, {1, 1}, 1});
  ASSERT_EQ(y.shape(), Shape({2, 4, 3, 4}));
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 4; ++o)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j) {
          double ref = b.at({o});
          for (int c = 0; c < 3; ++c)
            for (int p = 0; p < 3; ++p)
              for (int q = 0; q < 2; ++q) {
                int hi = i * 2 - 1 + p, wj = j + q;
                if (hi >= 0 && hi < 6 && wj < 5) ref += x.at({n, c, hi, wj}) * w.at({o, c, p, q});
              }
          EXPECT_NEAR(y.at({n, o, i, j}), ref, 1e-4);
        }
}

TEST(Forward, DropoutKeepsTheExpectationAndIsSeeded) {
  Generator g1(5), g2(5);
  Tensor x = ones({10000});
  Tensor a = dropout(x, 0.25, true, g1), b = dropout(x, 0.25, true, g2);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_NEAR(mean(a).item(), 1.0f, 0.03f);
  EXPECT_EQ(dropout(x, 0.25, false).storage(), x.storage());
}

// The mask comes from a counter-based hash: check it behaves like independent coin flips
// (rate, no correlation between neighbours, distinct masks per call) and ignores the thread count.
TEST(Forward, DropoutMaskIsUnbiasedUncorrelatedAndThreadCountInvariant) {
  const int64_t n = 1 << 20;  // large enough to take the threaded path
  Tensor x = ones({n});
  Generator g(11);
  for (double p : {0.1, 0.5, 0.9}) {
    std::vector<float> y = dropout(x, p, true, g).to_vector<float>();
    int64_t kept = 0, kept_pairs = 0;
    for (int64_t i = 0; i < n; ++i) {
      kept += y[i] != 0;
      if (i > 0) kept_pairs += (y[i] != 0) && (y[i - 1] != 0);
    }
    const double q = 1 - p, sd = std::sqrt(q * (1 - q) / double(n));
    EXPECT_NEAR(double(kept) / double(n), q, 5 * sd) << "p = " << p;
    EXPECT_NEAR(double(kept_pairs) / double(n - 1), q * q, 5 * std::sqrt(q * q * (1 - q * q) / double(n)))
        << "p = " << p;
    for (float v : {y[0], y[n / 2], y[n - 1]}) EXPECT_TRUE(v == 0.0f || std::abs(v - float(1 / q)) < 1e-6f);
  }
  Generator a(3), b(3);
  std::vector<float> first = dropout(x, 0.5, true, a).to_vector<float>();
  EXPECT_NE(dropout(x, 0.5, true, a).to_vector<float>(), first);  // the next call draws a new mask
  const int threads = num_threads();
  set_num_threads(1);
  std::vector<float> one_thread = dropout(x, 0.5, true, b).to_vector<float>();
  set_num_threads(threads);
  EXPECT_EQ(one_thread, first);
}

TEST(Forward, DropoutGradientIsTheScaledMask) {
  Generator g(4);
  Tensor x = randn({3, 50000}).requires_grad_();
  Tensor y = dropout(x, 0.3, true, g);
  Tensor w = randn({3, 50000});
  sum(mul(y, w)).backward();
  std::vector<float> xv = x.to_vector<float>(), yv = y.to_vector<float>(), wv = w.to_vector<float>(),
                     gv = x.grad().to_vector<float>();
  for (size_t i = 0; i < xv.size(); ++i) {
    const bool kept = yv[i] != 0;
    EXPECT_FLOAT_EQ(gv[i], kept ? wv[i] / 0.7f : 0.0f) << i;
    if (kept) {
      EXPECT_FLOAT_EQ(yv[i], xv[i] / 0.7f) << i;
    }
  }
}

TEST(Forward, BatchNormUpdatesRunningStatistics) {
  Tensor x = randn({8, 2, 3, 3});
  Tensor rm = zeros({2}), rv = ones({2});
  batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1);
  Tensor channel0 = x.select(1, 0);
  EXPECT_NEAR(rm.at({0}), 0.1f * mean(channel0).item(), 1e-5);
  EXPECT_NEAR(rv.at({0}), 0.9f + 0.1f * var(channel0).item(), 1e-4);
}

TEST(Forward, SplitChunkCatAndIndexing) {
  Tensor x = arange(0.0, 10.0);
  auto pieces = split(x, 4);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[2].to_vector<float>(), std::vector<float>({8, 9}));
  EXPECT_EQ(chunk(x, 3).size(), 3u);
  EXPECT_EQ(cat({pieces[2], pieces[0]}).to_vector<float>(), std::vector<float>({8, 9, 0, 1, 2, 3}));
  EXPECT_EQ(stack({x, x}, 1).shape(), Shape({10, 2}));
  EXPECT_EQ(index_select(x, 0, tensor_i64({9, 0})).to_vector<float>(), std::vector<float>({9, 0}));
}

// A NaN in the input stays NaN through every op, as in PyTorch, so a diverging run is seen (and
// reported by the NaN checks) instead of being silently turned into finite numbers. 37 elements:
// the 8-lane vector bodies and the scalar tails both see a NaN.
TEST(Forward, NaNPropagatesThroughActivationsAndReductions) {
  std::vector<float> values(37, 0.5f);
  values[3] = NAN;   // in a vector body
  values[36] = NAN;  // in the scalar tail
  const Tensor x = tensor(values, {37});
  auto expect_nan_at = [](const Tensor& y, const char* op) {
    std::vector<float> v = y.to_vector<float>();
    ASSERT_EQ(v.size(), 37u) << op;
    EXPECT_TRUE(std::isnan(v[3]) && std::isnan(v[36])) << op << " turned NaN into " << v[3] << ", " << v[36];
  };
  expect_nan_at(relu(x), "relu");
  expect_nan_at(leaky_relu(x, 0.01), "leaky_relu");
  expect_nan_at(sigmoid(x), "sigmoid");
  expect_nan_at(tanh(x), "tanh");
  expect_nan_at(gelu(x), "gelu");
  expect_nan_at(gelu(x, "tanh"), "gelu(tanh)");
  expect_nan_at(silu(x), "silu");
  expect_nan_at(exp(x), "exp");
  expect_nan_at(clamp(x, 0.0, 1.0), "clamp");
  expect_nan_at(maximum(x, zeros({37})), "maximum");
  expect_nan_at(minimum(x, zeros({37})), "minimum");
  EXPECT_TRUE(std::isnan(sum(x).item<float>())) << "sum";
  EXPECT_TRUE(std::isnan(max(x).item<float>())) << "max";
  EXPECT_TRUE(std::isnan(min(x).item<float>())) << "min";
  EXPECT_TRUE(std::isnan(softmax(x, 0).to_vector<float>()[0])) << "softmax";
  EXPECT_TRUE(std::isnan(max_pool2d(x.narrow(0, 0, 36).reshape({1, 1, 6, 6}), Pool2dOptions{}).to_vector<float>()[1]))
      << "max_pool2d";
  EXPECT_TRUE(
      std::isnan(relu_max_pool2d(x.narrow(0, 0, 36).reshape({1, 1, 6, 6}), Pool2dOptions{}).to_vector<float>()[1]))
      << "relu_max_pool2d";
}

// The fused op against its definition, max_pool2d(relu(x)), in value and input gradient: on the
// vectorised 2x2 path and the general one, with windows that are all negative (no gradient), ties
// at zero and a NaN.
// The 2x2 / stride 2 kernel runs 8 windows at a time; rows 18 windows wide cover two vector blocks
// and a scalar tail. Every window is checked against a brute-force max and first-argmax, with ties,
// NaN, all-negative and all-zero windows inside the vector blocks.
TEST(Forward, MaxPool2x2WideRowsMatchBruteForce) {
  manual_seed(5);
  const int64_t planes = 6, h = 6, w = 37, ho = 3, wo = 18;
  Tensor x = randn({2, 3, h, w});
  float* d = x.data<float>();
  d[0 * w + 2] = d[0 * w + 3] = d[1 * w + 2] = d[1 * w + 3] = 0.5f;  // a 4-way tie
  d[2 * w + 10] = d[3 * w + 11] = 2.5f;                              // a 2-way tie across rows
  for (int64_t c : {4, 5}) d[c] = d[w + c] = -1.0f;                  // all negative
  for (int64_t c : {6, 7}) d[2 * w + c] = d[3 * w + c] = 0.0f;       // all zero
  d[h * w + 4 * w + 12] = NAN;                                       // plane 1
  d[2 * h * w + 1 * w + 30] = NAN;                                   // plane 2, in the scalar tail
  d[3 * h * w + 0 * w + 20] = NAN, d[3 * h * w + 1 * w + 21] = NAN;  // two NaNs in one window
  for (bool fuse_relu : {false, true}) {
    Tensor xa = x.detach();
    xa.requires_grad_();
    Tensor y = fuse_relu ? relu_max_pool2d(xa, Pool2dOptions{}) : max_pool2d(xa, Pool2dOptions{});
    ASSERT_EQ(y.shape(), Shape({2, 3, ho, wo}));
    Tensor weights = rand(y.shape());
    sum(mul(y, weights)).backward();
    std::vector<float> out = y.to_vector<float>(), grad = xa.grad().to_vector<float>(), wt = weights.to_vector<float>();
    std::vector<float> expected_grad(size_t(planes * h * w), 0.0f);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t oh = 0; oh < ho; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          float best = 0;
          int64_t best_at = -1;
          for (int64_t i : {2 * oh, 2 * oh + 1})
            for (int64_t j : {2 * ow, 2 * ow + 1}) {
              const int64_t at = p * h * w + i * w + j;
              if (std::isnan(best)) continue;  // the first NaN wins
              if (best_at < 0 || d[at] > best || std::isnan(d[at])) best = d[at], best_at = at;
            }
          const bool flows = !fuse_relu || best > 0;
          const float value = fuse_relu && !(best > 0) && !std::isnan(best) ? 0.0f : best;
          const int64_t o = (p * ho + oh) * wo + ow;
          const std::string where = std::string(fuse_relu ? "relu_" : "") + "max_pool2d window " + std::to_string(o);
          EXPECT_TRUE(out[o] == value || (std::isnan(out[o]) && std::isnan(value)))
              << where << ": " << out[o] << " vs " << value;
          if (flows && !std::isnan(best)) expected_grad[size_t(best_at)] += wt[o];
          if (std::isnan(best) && !fuse_relu) expected_grad[size_t(best_at)] += wt[o];
        }
    EXPECT_EQ(grad, expected_grad) << (fuse_relu ? "relu_max_pool2d" : "max_pool2d") << " gradient";
  }
}

TEST(Forward, ReluMaxPoolMatchesReluThenMaxPool) {
  auto check = [](Tensor x, const Pool2dOptions& options, const char* what) {
    Tensor a = x.contiguous().detach(), b = x.contiguous().detach();
    a.requires_grad_();
    b.requires_grad_();
    Tensor fused = relu_max_pool2d(a, options), composed = max_pool2d(relu(b), options);
    Tensor weights = rand(fused.shape());
    sum(mul(fused, weights)).backward();
    sum(mul(composed, weights)).backward();
    std::vector<float> f = fused.to_vector<float>(), c = composed.to_vector<float>();
    ASSERT_EQ(f.size(), c.size()) << what;
    for (size_t i = 0; i < f.size(); ++i)
      EXPECT_TRUE(f[i] == c[i] || (std::isnan(f[i]) && std::isnan(c[i]))) << what << " output " << i;
    EXPECT_EQ(a.grad().to_vector<float>(), b.grad().to_vector<float>()) << what;
  };
  manual_seed(3);
  Tensor x = randn({3, 4, 10, 12});
  x.narrow(2, 0, 2).narrow(3, 0, 4).fill_(-1.0);  // whole windows below zero
  x.narrow(2, 2, 2).narrow(3, 0, 2).fill_(0.0);   // a window of zeros
  check(x, Pool2dOptions{}, "2x2");
  check(x, Pool2dOptions{{3, 3}, {2, 2}, {1, 1}, true}, "3x3 stride 2 padding 1 ceil_mode");
  check(x.narrow(3, 1, 9), Pool2dOptions{{2, 2}, {2, 2}, {0, 0}, true}, "2x2 ceil_mode on odd width");
  x.narrow(2, 4, 1).narrow(3, 5, 1).fill_(NAN);
  check(x, Pool2dOptions{}, "2x2 with a NaN");
}

// linear adds its bias inside the GEMM (oneDNN's bias argument, or after the small and
// matrix-vector loops): every route equals the product plus the bias added separately.
TEST(Forward, LinearBiasInsideTheGemmEqualsAddingItAfter) {
  Generator gen(11);
  for (const auto& [rows, in, out] : {std::tuple<int64_t, int64_t, int64_t>{3, 5, 4},  // small: inline loops
                                      {2, 300, 70},                                    // two rows: matrix-vector
                                      {96, 128, 200},                                  // oneDNN primitive
                                      {5, 33, 17}}) {
    Tensor x = randn({rows, in}, gen), w = randn({out, in}, gen), b = randn({out}, gen);
    expect_close(linear(x, w, b), add(matmul(x, w.transpose(0, 1)), b));
    expect_close(linear(x.reshape({1, rows, in}), w, b), add(matmul(x, w.transpose(0, 1)), b).reshape({1, rows, out}));
  }
}
