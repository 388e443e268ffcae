// kernels::PackedWeight, the recurrent step's GEMM, against a plain double-precision product.
#include "nabla/kernels/packed_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nabla/nabla.h"

namespace nabla {
namespace {

std::vector<float> random_values(int64_t count, Generator& gen) { return randn({count}, gen).to_vector<float>(); }

// Every row-group size of the kernel (1..6 rows and their mixes), a last panel narrower than 16
// columns, a weight packed from its transpose, padded row strides, and accumulation into C.
TEST(PackedWeight, MatchesAPlainProductForEveryShapeItSplits) {
  Generator gen(3);
  // AVX-512 takes panels four at a time while more than two remain, then a pair: 37 and 48 are
  // three panels (the fourth masked off), 90 is four and a pair, 130 four, four and a lone one.
  for (const int64_t n : {1, 16, 37, 48, 90, 130})
    for (const int64_t k : {1, 19})
      for (const bool from_transpose : {false, true}) {
        // B[j][q] stored [n, k], or as its transpose [k, n].
        const std::vector<float> b = random_values(n * k, gen);
        const kernels::PackedWeight packed =
            from_transpose ? kernels::PackedWeight(b.data(), n, k, 1, n) : kernels::PackedWeight(b.data(), n, k, k, 1);
        auto b_at = [&](int64_t j, int64_t q) { return from_transpose ? b[q * n + j] : b[j * k + q]; };
        for (const int64_t m : {1, 2, 3, 4, 5, 6, 7, 11, 13, 16}) {
          const int64_t lda = k + 3, ldc = n + 2;
          const std::vector<float> a = random_values(m * lda, gen), c0 = random_values(m * ldc, gen);
          for (const bool accumulate : {false, true}) {
            std::vector<float> c = c0;
            packed.multiply(a.data(), lda, m, c.data(), ldc, accumulate);
            for (int64_t r = 0; r < m; ++r) {
              for (int64_t j = 0; j < n; ++j) {
                double expected = accumulate ? c0[r * ldc + j] : 0.0;
                for (int64_t q = 0; q < k; ++q) expected += double(a[r * lda + q]) * b_at(j, q);
                ASSERT_NEAR(c[r * ldc + j], expected, 1e-5 * (1 + std::fabs(expected)))
                    << "m " << m << " n " << n << " k " << k << " row " << r << " column " << j;
              }
              for (int64_t j = n; j < ldc; ++j)  // the padding between rows is left alone
                ASSERT_EQ(c[r * ldc + j], c0[r * ldc + j]) << "m " << m << " n " << n << " k " << k;
            }
          }
        }
      }
}

// Threads split the batch by rows: a row's result must not depend on which rows share its call.
TEST(PackedWeight, ARowsResultDoesNotDependOnItsNeighbours) {
  Generator gen(4);
  const int64_t m = 16, n = 40, k = 128;
  const std::vector<float> a = random_values(m * k, gen), b = random_values(n * k, gen);
  const kernels::PackedWeight packed(b.data(), n, k, k, 1);
  std::vector<float> together(m * n), alone(m * n);
  packed.multiply(a.data(), k, m, together.data(), n);
  for (int64_t r = 0; r < m; ++r) packed.multiply(a.data() + r * k, k, 1, alone.data() + r * n, n);
  EXPECT_EQ(together, alone);
}

}  // namespace
}  // namespace nabla
