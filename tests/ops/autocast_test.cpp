// bf16 mixed precision: under AutocastGuard, linear, matmul and conv2d multiply bf16-rounded
// inputs with f32 accumulation (checked against a double-precision reference on rounded inputs),
// their gradients do the same, and nothing changes outside the guard.
#include <gtest/gtest.h>

#include <cmath>

#include "../error_message.h"
#include "nabla/nabla.h"

using namespace nabla;
using test_support::error_of;

namespace {

float bf16_round(float v) { return bf16::from_float(v).to_float(); }

Tensor rounded(const Tensor& t) {
  std::vector<float> v = t.contiguous().to_vector<float>();
  for (float& x : v) x = bf16_round(x);
  return tensor(v, t.shape());
}

// C[i][j] = sum_k A[i][k] B[k][j] in double, A [m, k] and B [k, n] given row-major.
std::vector<double> product(const std::vector<float>& a, const std::vector<float>& b, int64_t m, int64_t k, int64_t n) {
  std::vector<double> c(size_t(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t q = 0; q < k; ++q)
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += double(a[i * k + q]) * double(b[q * n + j]);
  return c;
}

void expect_matches(const Tensor& actual, const std::vector<double>& expected, const std::string& what) {
  std::vector<float> a = actual.contiguous().to_vector<float>();
  ASSERT_EQ(a.size(), expected.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], expected[i], 2e-5 * (1 + std::fabs(expected[i]))) << what << "[" << i << "]";
}

double max_difference(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.contiguous().to_vector<float>(), y = b.contiguous().to_vector<float>();
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, double(std::fabs(x[i] - y[i])));
  return d;
}

std::vector<float> transposed(const std::vector<float>& v, int64_t rows, int64_t cols) {
  std::vector<float> t(v.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = v[r * cols + c];
  return t;
}

}  // namespace

TEST(Autocast, LinearMultipliesBf16InputsWithF32AccumulationForwardAndBackward) {
  manual_seed(1);
  const int64_t rows = 7, in = 33, out = 5;
  Tensor x = randn({rows, in}).requires_grad_(), w = randn({out, in}).requires_grad_(),
         b = randn({out}).requires_grad_();
  Tensor upstream = randn({rows, out});
  Tensor y;
  {
    AutocastGuard bf16_scope(DType::bf16);
    EXPECT_EQ(autocast_dtype(), DType::bf16);
    y = linear(x, w, b);
  }
  EXPECT_EQ(autocast_dtype(), DType::f32);
  EXPECT_EQ(y.dtype(), DType::f32);
  sum(mul(y, upstream)).backward();  // backward outside the scope keeps the forward's precision

  const std::vector<float> xr = rounded(x).to_vector<float>(), wr = rounded(w).to_vector<float>(),
                           gr = rounded(upstream).to_vector<float>(), bv = b.to_vector<float>();
  std::vector<double> expected = product(xr, transposed(wr, out, in), rows, in, out);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < out; ++j) expected[i * out + j] += bv[j];
  expect_matches(y, expected, "y");
  expect_matches(x.grad(), product(gr, wr, rows, out, in), "dx");
  expect_matches(w.grad(), product(transposed(gr, rows, out), xr, out, rows, in), "dw");
  std::vector<double> db(out, 0.0);  // the bias gradient sums the f32 gradient: it is no GEMM input
  std::vector<float> g = upstream.to_vector<float>();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < out; ++j) db[j] += g[i * out + j];
  expect_matches(b.grad(), db, "db");

  // The rounding really happens: plain f32 differs by about bf16's resolution.
  NoGradGuard no_grad;
  const double gap = max_difference(linear(x, w, b), y);
  EXPECT_GT(gap, 1e-4);
  EXPECT_LT(gap, 0.1);
}

TEST(Autocast, BatchedMatmulAndItsGradientsUseBf16Operands) {
  manual_seed(2);
  Tensor a = randn({3, 4, 9}).requires_grad_(), c = randn({9, 6}).requires_grad_();
  Tensor upstream = randn({3, 4, 6});
  Tensor y;
  {
    AutocastGuard bf16_scope(DType::bf16);
    y = matmul(a, c);
    sum(mul(y, upstream)).backward();
  }
  const std::vector<float> ar = rounded(a).to_vector<float>(), cr = rounded(c).to_vector<float>(),
                           gr = rounded(upstream).to_vector<float>();
  std::vector<double> dc(9 * 6, 0.0);
  for (int64_t batch = 0; batch < 3; ++batch) {
    std::vector<float> ab(ar.begin() + batch * 36, ar.begin() + (batch + 1) * 36),
        gb(gr.begin() + batch * 24, gr.begin() + (batch + 1) * 24);
    expect_matches(y[batch], product(ab, cr, 4, 9, 6), "y");
    expect_matches(a.grad()[batch], product(gb, transposed(cr, 9, 6), 4, 6, 9), "da");
    std::vector<double> part = product(transposed(ab, 4, 9), gb, 9, 4, 6);
    for (size_t i = 0; i < dc.size(); ++i) dc[i] += part[i];
  }
  expect_matches(c.grad(), dc, "dc (summed over the broadcast batch)");
}

TEST(Autocast, Conv2dComputesOnBf16RoundedInputs) {
  manual_seed(3);
  Tensor x = randn({2, 3, 8, 8}).requires_grad_(), w = randn({4, 3, 3, 3}).requires_grad_(), b = randn({4});
  Tensor upstream = randn({2, 4, 6, 6});
  Tensor y;
  {
    AutocastGuard bf16_scope(DType::bf16);
    y = conv2d(x, w, b);
  }
  sum(mul(y, upstream)).backward();
  // The same convolution in f32 on inputs rounded by hand is the reference.
  Tensor xr = rounded(x).requires_grad_(), wr = rounded(w).requires_grad_();
  Tensor reference = conv2d(xr, wr, b);
  sum(mul(reference, rounded(upstream))).backward();
  EXPECT_LT(max_difference(y, reference), 1e-5);
  EXPECT_LT(max_difference(x.grad(), xr.grad()), 1e-5);
  EXPECT_LT(max_difference(w.grad(), wr.grad()), 1e-4);
  NoGradGuard no_grad;
  EXPECT_GT(max_difference(conv2d(x, w, b), y), 1e-4);
}

TEST(Autocast, GuardsNestAndF32LeavesResultsBitIdentical) {
  manual_seed(4);
  Tensor x = randn({16, 20}), w = randn({10, 20});
  std::vector<float> plain = linear(x, w).to_vector<float>();
  {
    AutocastGuard outer(DType::bf16);
    {
      AutocastGuard inner(DType::f32);
      EXPECT_EQ(autocast_dtype(), DType::f32);
      EXPECT_EQ(linear(x, w).to_vector<float>(), plain);
    }
    EXPECT_EQ(autocast_dtype(), DType::bf16);
    EXPECT_NE(linear(x, w).to_vector<float>(), plain);
  }
  EXPECT_EQ(linear(x, w).to_vector<float>(), plain);
}

TEST(Autocast, RoundingIsNearestEvenAndKeepsSpecialValues) {
  Tensor x = tensor({1.0f, 1.00390625f, 1.01171875f, -2.5f, INFINITY, -INFINITY, NAN, 3.4e38f, 1e-40f});
  std::vector<float> r = detail::round_to_bf16(x).to_vector<float>();
  EXPECT_EQ(r[0], 1.0f);
  EXPECT_EQ(r[1], 1.0f);       // exactly half an ulp above 1: ties go to the even mantissa
  EXPECT_EQ(r[2], 1.015625f);  // 1 + 1.5 ulp: ties to even rounds up
  EXPECT_EQ(r[3], -2.5f);
  EXPECT_EQ(r[4], INFINITY);
  EXPECT_EQ(r[5], -INFINITY);
  EXPECT_TRUE(std::isnan(r[6]));
  EXPECT_EQ(r[7], bf16_round(3.4e38f));
  EXPECT_EQ(r[8], bf16_round(1e-40f));
  // Stored bf16 (the native conversion, where the CPU has one) rounds like from_float, also for
  // special values and denormals at any position in a vector block.
  std::vector<float> specials(100);
  for (size_t i = 0; i < specials.size(); ++i) specials[i] = float(i) * 0.37f - 11.0f;
  const float odd[] = {NAN, -NAN, INFINITY, -INFINITY, 1e-40f, -3e-39f, 1.00390625f, 1.01171875f, 3.4e38f, -0.0f};
  for (size_t j = 0; j < std::size(odd); ++j) specials[j * 9 + 3] = odd[j];
  std::vector<float> stored_specials = detail::to_bf16(tensor(specials)).to(DType::f32).to_vector<float>();
  for (size_t i = 0; i < specials.size(); ++i) {
    const uint16_t expected = bf16::from_float(specials[i]).bits;
    EXPECT_EQ(bf16::from_float(stored_specials[i]).bits, expected) << i << ": " << specials[i];
  }
  std::vector<float> large(100000);
  for (size_t i = 0; i < large.size(); ++i) large[i] = std::sin(float(i)) * 1000.0f;  // the threaded path
  std::vector<float> big = detail::round_to_bf16(tensor(large)).to_vector<float>();
  Tensor stored = detail::to_bf16(tensor(large));
  EXPECT_EQ(stored.dtype(), DType::bf16);
  std::vector<float> widened = stored.to(DType::f32).to_vector<float>();
  for (size_t i = 0; i < large.size(); i += 997) {
    EXPECT_EQ(big[i], bf16_round(large[i])) << i;
    EXPECT_EQ(widened[i], big[i]) << i;
  }
}

TEST(Autocast, PrecisionNamesAndErrors) {
  EXPECT_EQ(parse_precision("bf16"), DType::bf16);
  EXPECT_EQ(parse_precision("fp32"), DType::f32);
  EXPECT_NE(error_of([] { parse_precision("fp16"); }).find("\"fp16\" is not supported; use \"fp32\" or \"bf16\""),
            std::string::npos);
  EXPECT_NE(error_of([] { AutocastGuard g(DType::i64); }).find("must be f32 or bf16"), std::string::npos);
}
