// The vectorised exp, sigmoid and tanh: close to libm on every kind of input (NaN stays NaN,
// infinities and overflow saturate), and where the build has AVX-512 its 16-lane twins give the
// 8-lane results bit for bit, so kernels may use either width without changing a result. GELU's
// width-generic vector bodies (both approximations, value and derivative) against their scalar
// formulas on a tensor long enough to run them.
#include "nabla/kernels/vec_math.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "nabla/nabla.h"

namespace vec = nabla::vec;

#ifdef NABLA_AVX2
namespace {

std::vector<float> inputs() {
  std::vector<float> x = {0.0f,  -0.0f,  1e-40f, -1e-40f, 1e-6f, -1e-6f, 0.625f,   -0.625f,   0.6249999f,
                          88.0f, -88.0f, 89.0f,  -104.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN};
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
  expect_close_to_libm(
      x, eight_wide(x, [](__m256 v) { return vec::exp(v); }),
      [](float v) { return std::isnan(v) ? v : std::exp(std::fmin(v, 88.3762626647949f)); }, "exp");
  expect_close_to_libm(
      x, eight_wide(x, [](__m256 v) { return vec::sigmoid(v); }),
      [](float v) { return std::isnan(v) ? v : 1.0f / (1.0f + std::exp(std::fmin(-v, 88.3762626647949f))); },
      "sigmoid");
  expect_close_to_libm(
      x, eight_wide(x, [](__m256 v) { return vec::tanh(v); }), [](float v) { return std::tanh(v); }, "tanh");
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

TEST(VecMath, GeluVectorBodiesMatchTheScalarFormulas) {
  std::vector<float> values;
  for (int i = 0; i < 1003; ++i) values.push_back(float(i - 501) * 0.011f);
  for (const char* approximate : {"none", "tanh"}) {
    const bool exact = std::string(approximate) == "none";
    nabla::Tensor x = nabla::tensor(values).requires_grad_();
    nabla::Tensor y = nabla::gelu(x, approximate);
    y.backward(nabla::ones_like(y));
    const std::vector<float> out = y.to_vector<float>(), grad = x.grad().to_vector<float>();
    for (size_t i = 0; i < values.size(); ++i) {
      const double v = values[i], k = std::sqrt(2.0 / M_PI), u = k * (v + 0.044715 * v * v * v);
      const double want = exact ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))) : 0.5 * v * (1 + std::tanh(u));
      const double slope =
          exact
              ? 0.5 * (1 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI)
              : 0.5 * (1 + std::tanh(u)) + 0.5 * v * (1 - std::tanh(u) * std::tanh(u)) * k * (1 + 3 * 0.044715 * v * v);
      EXPECT_NEAR(out[i], want, 1e-6 * (1 + std::fabs(want))) << approximate << " gelu(" << v << ")";
      EXPECT_NEAR(grad[i], slope, 2e-6 * (1 + std::fabs(slope))) << approximate << " gelu'(" << v << ")";
    }
  }
}
#endif
