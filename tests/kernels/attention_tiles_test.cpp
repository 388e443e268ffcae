// The pieces the f32 attention kernel is built from: the tile product (row-major and transposed
// A, accumulation, row groups and column vectors that do not fill a register block), the strided
// row copies and register-block transposes that pack a head's operands, and the row max and
// exp-sum of its softmax on rows that end anywhere; then attention with fewer heads than threads,
// where one head's query blocks are split between threads.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "../normal_floats.h"
#include "nabla/kernels/softmax.h"
#include "nabla/kernels/strided_copy.h"
#include "nabla/kernels/tile_gemm.h"
#include "nabla/nabla.h"

namespace nabla::kernels {
namespace {

using test_support::normal_floats;

constexpr float kSentinel = 12345.0f;  // in the gaps a kernel must not write

TEST(TileGemm, MatchesADoubleProductForRowMajorAndTransposedA) {
  for (bool transposed : {false, true})
    for (bool accumulate : {false, true})
      for (int64_t m : {1, 5, 6, 7, 13, 64, 130})
        for (int64_t n : {1, 15, 16, 17, 63, 64, 65, 130})
          for (int64_t k : {1, 3, 64, 129}) {
            // A as [m][k] or stored transposed as [k][m], with rows padded by 3; C rows padded by 5.
            const int64_t lda = (transposed ? m : k) + 3, ldb = n + 7, ldc = n + 5;
            const auto a = normal_floats(size_t((transposed ? k : m) * lda), 1), b = normal_floats(size_t(k * ldb), 2);
            const int64_t a_row = transposed ? 1 : lda, a_col = transposed ? lda : 1;
            std::vector<float> c(size_t(m * ldc), kSentinel);
            const auto c0 = normal_floats(size_t(m * ldc), 3);
            for (int64_t i = 0; i < m; ++i)
              for (int64_t j = 0; j < n; ++j) c[size_t(i * ldc + j)] = c0[size_t(i * ldc + j)];
            tile_gemm(m, n, k, a.data(), a_row, a_col, b.data(), ldb, c.data(), ldc, accumulate);
            const std::string what = "m " + std::to_string(m) + " n " + std::to_string(n) + " k " + std::to_string(k) +
                                     (transposed ? " A^T" : " A") + (accumulate ? " +=" : " =");
            for (int64_t i = 0; i < m; ++i) {
              for (int64_t j = 0; j < n; ++j) {
                double sum = accumulate ? c0[size_t(i * ldc + j)] : 0.0, magnitude = std::fabs(sum);
                for (int64_t p = 0; p < k; ++p) {
                  const double term = double(a[size_t(i * a_row + p * a_col)]) * b[size_t(p * ldb + j)];
                  sum += term;
                  magnitude += std::fabs(term);
                }
                ASSERT_NEAR(c[size_t(i * ldc + j)], sum, 1e-5 * magnitude + 1e-6) << what << " at " << i << ", " << j;
              }
              for (int64_t j = n; j < ldc; ++j)
                ASSERT_EQ(c[size_t(i * ldc + j)], kSentinel) << what << ": wrote past n";
            }
          }
}

TEST(StridedCopy, RowsAndTransposeMoveEveryElementAndNothingElse) {
  for (int64_t rows : {1, 7, 15, 16, 17, 33, 256})
    for (int64_t cols : {1, 8, 15, 16, 17, 64, 70}) {
      const int64_t ld = cols + 9, ldo_rows = cols + 2, ldo_cols = rows + 3;
      const auto x = normal_floats(size_t(rows * ld), 4);
      std::vector<float> copied(size_t(rows * ldo_rows), kSentinel), transposed(size_t(cols * ldo_cols), kSentinel);
      copy_rows(x.data(), ld, rows, cols, copied.data(), ldo_rows);
      transpose(x.data(), ld, rows, cols, transposed.data(), ldo_cols);
      const std::string what = std::to_string(rows) + " x " + std::to_string(cols);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < ldo_rows; ++c)
          ASSERT_EQ(copied[size_t(r * ldo_rows + c)], c < cols ? x[size_t(r * ld + c)] : kSentinel)
              << what << " copy at " << r << ", " << c;
      for (int64_t c = 0; c < cols; ++c)
        for (int64_t r = 0; r < ldo_cols; ++r)
          ASSERT_EQ(transposed[size_t(c * ldo_cols + r)], r < rows ? x[size_t(r * ld + c)] : kSentinel)
              << what << " transpose at " << c << ", " << r;
    }
}

TEST(SoftmaxRows, MaxAndExpSumOnRowsOfEveryLength) {
  for (int64_t n = 1; n <= 70; ++n) {
    auto x = normal_floats(size_t(n), unsigned(n));
    // The maximum at every position, including the masked tail's lanes.
    for (int64_t at = 0; at < n; ++at) {
      auto y = x;
      y[size_t(at)] = 100.0f;
      EXPECT_EQ(row_max(y.data(), n), 100.0f) << "n " << n << ", maximum at " << at;
      y[size_t(at)] = NAN;
      EXPECT_TRUE(std::isnan(row_max(y.data(), n))) << "n " << n << ", NaN at " << at;
    }
    std::vector<float> all_hidden(size_t(n), -INFINITY);
    EXPECT_EQ(row_max(all_hidden.data(), n), -INFINITY);
    std::vector<float> e(size_t(n) + 16, kSentinel);
    const float shift = 0.5f, sum = row_exp_sum(x.data(), e.data(), n, shift);
    double expected = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double exact = std::exp(double(x[size_t(i)]) - shift);
      EXPECT_NEAR(e[size_t(i)], exact, 2e-6 * exact) << "n " << n << " at " << i;
      expected += exact;
    }
    EXPECT_NEAR(sum, expected, 1e-5 * expected) << "n " << n;
    for (size_t i = size_t(n); i < e.size(); ++i) ASSERT_EQ(e[i], kSentinel) << "n " << n << ": wrote past the row";
  }
}

}  // namespace
}  // namespace nabla::kernels

namespace nabla {
namespace {

// One head of 200 queries at two threads: its four query blocks run as two runs, each packing
// the keys its own queries can see. Against softmax(q k^T / sqrt(d) + mask) v composed of ops.
TEST(FusedAttention, OneHeadSplitAcrossThreadsMatchesTheComposition) {
  const int threads_before = num_threads();
  set_num_threads(2);
  Generator gen(11);
  const int64_t t = 200;
  const Tensor q = randn({1, 1, t, 16}, gen), k = randn({1, 1, t, 16}, gen), v = randn({1, 1, t, 8}, gen);
  for (bool causal : {false, true}) {
    Tensor scores = mul(matmul(q, k.transpose(-1, -2)), 0.25);
    if (causal) {
      std::vector<float> mask(size_t(t * t), 0.0f);
      for (int64_t i = 0; i < t; ++i)
        for (int64_t j = i + 1; j < t; ++j) mask[size_t(i * t + j)] = -INFINITY;
      scores = add(scores, tensor(mask, {t, t}));
    }
    const std::vector<float> expected = matmul(softmax(scores, -1), v).to_vector<float>(),
                             fused = scaled_dot_product_attention(q, k, v, Tensor(), causal).to_vector<float>();
    ASSERT_EQ(fused.size(), expected.size());
    for (size_t i = 0; i < fused.size(); ++i)
      ASSERT_NEAR(fused[i], expected[i], 1e-4f) << (causal ? "causal" : "full") << " at " << i;
  }
  set_num_threads(threads_before);
}

}  // namespace
}  // namespace nabla
