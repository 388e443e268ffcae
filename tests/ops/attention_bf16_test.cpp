// Attention under bf16 autocast: on a CPU with AMX the tile products run in bf16 (f32
// accumulation), so values and gradients stay within bf16's rounding of the f32 results; without
// AMX attention stays f32 and the results are bit-identical. Also, where the CPU has AMX, the
// operand packing read back through its documented layout and the product against a double
// reference.
#include <gtest/gtest.h>

#include <cmath>

#include "nabla/kernels/amx_gemm.h"
#include "nabla/nabla.h"

using namespace nabla;
namespace amx = nabla::kernels::amx;

namespace {

float rounded(float v) { return bf16::from_float(v).to_float(); }

std::vector<float> values_of(int64_t n, float phase) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = std::sin(0.37f * float(i) + phase) * (1.0f + float(i % 7) * 0.25f);
  return x;
}

float value(const std::vector<bf16>& x, int64_t i) { return x[size_t(i)].to_float(); }

// ||a - b|| / ||b||, with every element of a finite.
double relative_error(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.contiguous().to_vector<float>(), y = b.contiguous().to_vector<float>();
  double diff = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) return INFINITY;
    diff += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    norm += double(y[i]) * y[i];
  }
  return std::sqrt(diff / norm);
}

bool identical(const Tensor& a, const Tensor& b) {
  return a.contiguous().to_vector<float>() == b.contiguous().to_vector<float>();
}

struct Result {
  Tensor out, dq, dk, dv;
};

// Attention of [B, H, T, D] operands (made from fixed seeds) and its gradients for a fixed upstream.
Result attend(const std::vector<int64_t>& qshape, const std::vector<int64_t>& kshape, int64_t dv, bool causal,
              DType precision) {
  manual_seed(7);
  Tensor q = randn(Shape(qshape)).requires_grad_(), k = randn(Shape(kshape)).requires_grad_();
  std::vector<int64_t> vshape = kshape, oshape = qshape;
  vshape.back() = dv;
  oshape.back() = dv;
  Tensor v = randn(Shape(vshape)).requires_grad_();
  Tensor upstream = randn(Shape(oshape));
  Tensor out;
  {
    AutocastGuard guard(precision);
    out = scaled_dot_product_attention(q, k, v, Tensor(), causal);
  }
  out.backward(upstream);
  return {out, q.grad(), k.grad(), v.grad()};
}

}  // namespace

TEST(AmxOperands, PackedLayoutsHoldTheRoundedValuesAndZeroPadding) {
  if (!amx::available()) {  // packing uses AVX512-BF16, which every AMX CPU has; elsewhere it never runs
    EXPECT_FALSE(amx::available());
    return;
  }
  const int64_t rows = 37, cols = 45, ld = 50, rp = amx::padded(rows), cp = amx::padded(cols);
  ASSERT_EQ(rp, 64);
  ASSERT_EQ(cp, 64);
  const std::vector<float> x = values_of(rows * ld, 0.5f);
  auto at = [&](int64_t r, int64_t c) { return r < rows && c < cols ? x[r * ld + c] : 0.0f; };
  std::vector<bf16> a(rp * cp), at_t(cp * rp), pairs(rp * cp), pairs_t(cp * rp);
  amx::pack_rows(x.data(), ld, rows, cols, 0.5f, a.data(), rp, cp);
  amx::pack_rows_transposed(x.data(), ld, rows, cols, at_t.data(), cp, rp);
  amx::pack_pairs(x.data(), ld, rows, cols, pairs.data(), rp, cp);                     // B[k = r][n = c]
  amx::pack_pairs_transposed(x.data(), ld, rows, cols, 2.0f, pairs_t.data(), cp, rp);  // B[k = c][n = r]
  int64_t wrong = 0;
  for (int64_t r = 0; r < rp; ++r)
    for (int64_t c = 0; c < cp; ++c) {
      wrong += value(a, r * cp + c) != rounded(at(r, c) * 0.5f);
      wrong += value(at_t, c * rp + r) != rounded(at(r, c));
      wrong += value(pairs, (r / 2) * 2 * cp + 2 * c + r % 2) != rounded(at(r, c));
      wrong += value(pairs_t, (c / 2) * 2 * rp + 2 * r + c % 2) != rounded(at(r, c) * 2.0f);
    }
  EXPECT_EQ(wrong, 0);
}

TEST(AmxOperands, ProductMatchesDoubleProductOfTheRoundedOperandsWhereTheCpuHasAmx) {
  const int64_t m = 64, n = 96, k = 64;
  const std::vector<float> x = values_of(m * k, 0.1f), y = values_of(k * n, 1.3f), c0 = values_of(m * n, 2.0f);
  std::vector<bf16> a(m * k), b(k * n);
  amx::pack_rows(x.data(), k, m, k, 1.0f, a.data(), m, k);
  amx::pack_pairs(y.data(), n, k, n, b.data(), k, n);
  // The reference reads the operands through their documented layouts.
  std::vector<double> expected(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = c0[i * n + j];
      for (int64_t p = 0; p < k; ++p) sum += double(value(a, i * k + p)) * value(b, (p / 2) * 2 * n + 2 * j + p % 2);
      expected[i * n + j] = sum;
    }
  if (!amx::available()) {  // no tile product to check: attention must then stay f32 (next tests)
    EXPECT_FALSE(amx::available());
    return;
  }
  std::vector<float> c = c0;
  {
    amx::TileScope tiles;
    amx::gemm(m, n, k, a.data(), k, b.data(), 2 * n, c.data(), n, true);
  }
  int64_t far = 0;
  for (int64_t i = 0; i < m * n; ++i) far += !(std::fabs(c[i] - expected[i]) <= 1e-5 * (1 + std::fabs(expected[i])));
  EXPECT_EQ(far, 0);
}

TEST(AttentionBf16, StaysWithinBf16RoundingOfF32ForwardAndBackward) {
  struct Case {
    std::vector<int64_t> q, k;
    int64_t dv;
    bool causal;
  };
  // Ragged lengths and widths exercise the padding to 32; 200 queries span two backward blocks.
  const Case cases[] = {{{2, 3, 100, 48}, {2, 3, 100, 48}, 40, true},
                        {{1, 2, 200, 64}, {1, 2, 200, 64}, 64, true},
                        {{2, 2, 64, 32}, {2, 2, 150, 32}, 32, false}};
  for (const Case& c : cases) {
    const Result f32 = attend(c.q, c.k, c.dv, c.causal, DType::f32),
                 mixed = attend(c.q, c.k, c.dv, c.causal, DType::bf16);
    const std::string what = "T " + std::to_string(c.q[2]) + " S " + std::to_string(c.k[2]);
    if (!amx::available()) {
      EXPECT_TRUE(identical(mixed.out, f32.out) && identical(mixed.dq, f32.dq) && identical(mixed.dk, f32.dk) &&
                  identical(mixed.dv, f32.dv))
          << what << ": without AMX attention must stay f32";
      continue;
    }
    EXPECT_FALSE(identical(mixed.out, f32.out)) << what << ": the bf16 tiles did not run";
    // bf16 keeps 8 significant bits (relative rounding 2^-9); a few roundings compound.
    EXPECT_LT(relative_error(mixed.out, f32.out), 1e-2) << what;
    EXPECT_LT(relative_error(mixed.dq, f32.dq), 2e-2) << what;
    EXPECT_LT(relative_error(mixed.dk, f32.dk), 2e-2) << what;
    EXPECT_LT(relative_error(mixed.dv, f32.dv), 1e-2) << what;
  }
}

TEST(AttentionBf16, SelfAttentionHeadsMatchesItsPackedTwinUnderAutocast) {
  // The fused [B, T, 3E] op reads heads in place; under bf16 it must agree with attention on
  // packed heads, which makes the same roundings, exactly.
  manual_seed(3);
  const int64_t batch = 2, t = 70, heads = 2, d = 32, e = heads * d;
  Tensor qkv = randn({batch, t, 3 * e}).requires_grad_();
  Tensor upstream = randn({batch, t, e});
  AutocastGuard guard(DType::bf16);
  Tensor fused = self_attention_heads(qkv, heads, true);
  fused.backward(upstream);
  Tensor fused_grad = qkv.grad();
  qkv.set_grad(Tensor());
  auto split = [&](const Tensor& x) { return x.reshape({batch, t, heads, d}).permute({0, 2, 1, 3}); };
  std::vector<Tensor> parts = chunk(qkv, 3, -1);
  Tensor o = scaled_dot_product_attention(split(parts[0]), split(parts[1]), split(parts[2]), Tensor(), true);
  Tensor merged = o.permute({0, 2, 1, 3}).reshape({batch, t, e});
  merged.backward(upstream);
  EXPECT_TRUE(identical(fused, merged));
  EXPECT_TRUE(identical(fused_grad, qkv.grad()));
}
