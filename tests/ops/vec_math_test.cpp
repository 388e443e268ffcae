// The vectorised exp, sigmoid and tanh: close to libm on every kind of input (NaN stays NaN,
// infinities and overflow saturate), and where the build has AVX-512 its 16-lane twins give the
// 8-lane results bit for bit, so kernels may use either width without changing a result.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "nabla/kernels/vec_math.h"

namespace vec = nabla::vec;

#ifdef NABLA_AVX2
namespace {

std::vector<float> inputs() {
  std::vector<float> x = {0.0f, -0.0f, 1e-40f, -1e-40f, 1e-6f, -1e-6f, 0.625f, -0.625f, 0.6249999f, 88.0f, -88.0f,
                          89.0f, -104.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN};
  for (int i = -2000; i <= 2000; ++i) x.push_back(float(i) * 0.013f);
  while (x.size() % 16) x.push_back(0.5f);
  return x;
}

template <typename F8>
std::vector<float> eight_wide(const std::vector<float>& x, F8 f) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); i += 8) _mm256_storeu_ps(&y[i], f(_mm256_loadu_ps(&x[i])));
  return y;
}

void expect_close_to_libm(const std::vector<float>& x, const std::vector<float>& y, float (*reference)(float),
                          const char* name) {
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = reference(x[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(y[i])) << name << "(" << x[i] << ")";
    } else {
      EXPECT_NEAR(y[i], want, 4e-7f * std::fabs(want) + 1e-37f) << name << "(" << x[i] << ")";
    }
  }
}

}  // namespace

TEST(VecMath, ExpSigmoidAndTanhFollowLibmOnEveryKindOfInput) {
  const std::vector<float> x = inputs();
  // exp saturates above 88.38 (the largest finite result) and gives 0 for denormal results.
  expect_close_to_libm(x, eight_wide(x, [](__m256 v) { return vec::exp(v); }),
                       [](float v) { return std::isnan(v) ? v : std::exp(std::fmin(v, 88.3762626647949f)); }, "exp");
  expect_close_to_libm(x, eight_wide(x, [](__m256 v) { return vec::sigmoid(v); }),
                       [](float v) { return std::isnan(v) ? v : 1.0f / (1.0f + std::exp(std::fmin(-v, 88.3762626647949f))); },
                       "sigmoid");
  expect_close_to_libm(x, eight_wide(x, [](__m256 v) { return vec::tanh(v); }), [](float v) { return std::tanh(v); },
                       "tanh");
}

#ifdef __AVX512F__
TEST(VecMath, SixteenLaneTwinsGiveTheEightLaneResultsBitForBit) {
  const std::vector<float> x = inputs();
  auto sixteen_wide = [&](auto f) {
    std::vector<float> y(x.size());
    for (size_t i = 0; i < x.size(); i += 16) _mm512_storeu_ps(&y[i], f(_mm512_loadu_ps(&x[i])));
    return y;
  };
  auto bits = [](const std::vector<float>& v) {
    std::vector<uint32_t> b;
    for (float f : v) b.push_back(std::bit_cast<uint32_t>(f));
    return b;
  };
  EXPECT_EQ(bits(sixteen_wide([](__m512 v) { return vec::exp(v); })),
            bits(eight_wide(x, [](__m256 v) { return vec::exp(v); })));
  EXPECT_EQ(bits(sixteen_wide([](__m512 v) { return vec::sigmoid(v); })),
            bits(eight_wide(x, [](__m256 v) { return vec::sigmoid(v); })));
  EXPECT_EQ(bits(sixteen_wide([](__m512 v) { return vec::tanh(v); })),
            bits(eight_wide(x, [](__m256 v) { return vec::tanh(v); })));
}
#endif
#endif
