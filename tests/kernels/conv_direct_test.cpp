// The direct convolution kernels (few input channels, stride 1) against a double-precision
// reference, on shapes that cross vector widths, pad more than the kernel reaches, use non-square
// and even kernels and filter counts that do not fill a register block.
#include "nabla/kernels/conv_direct.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "../normal_floats.h"

namespace nabla::kernels {
namespace {

struct Case {
  int64_t n, c, h, w, o, kh, kw, ph, pw;
};

ConvShape shape_of(const Case& k) {
  return {k.n,
          k.c,
          k.h,
          k.w,
          k.o,
          k.kh,
          k.kw,
          1,
          1,
          k.ph,
          k.pw,
          1,
          1,
          1,
          k.h + 2 * k.ph - k.kh + 1,
          k.w + 2 * k.pw - k.kw + 1};
}

using test_support::normal_floats;

// A sum in double and the sum of its terms' magnitudes: f32 error is bounded by a small multiple
// of the latter, while an indexing mistake is of the order of the sum itself.
struct Sum {
  double value = 0, magnitude = 0;
  void add(double term) {
    value += term;
    magnitude += std::fabs(term);
  }
};

void expect_near(float actual, const Sum& expected, const std::string& what) {
  EXPECT_NEAR(actual, expected.value, 1e-5 * expected.magnitude + 1e-6) << what;
}

class DirectConv : public ::testing::TestWithParam<Case> {};

TEST_P(DirectConv, ForwardAndWeightGradientsMatchADoubleReference) {
  const ConvShape s = shape_of(GetParam());
  ASSERT_TRUE(direct_conv_applies(s));
  const auto x = normal_floats(size_t(s.n * s.c * s.h * s.w), 1),
             weight = normal_floats(size_t(s.o * s.c * s.kh * s.kw), 2), bias = normal_floats(size_t(s.o), 3),
             dy = normal_floats(size_t(s.n * s.o * s.ho * s.wo), 4);
  auto input = [&](int64_t n, int64_t c, int64_t iy, int64_t ix) -> double {
    if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) return 0.0;
    return x[size_t(((n * s.c + c) * s.h + iy) * s.w + ix)];
  };
  std::vector<float> y(dy.size()), y_no_bias(dy.size()), dweight(weight.size()), dbias(bias.size()),
      dweight_alone(weight.size());
  direct_conv_forward(s, x.data(), weight.data(), bias.data(), y.data());
  direct_conv_forward(s, x.data(), weight.data(), nullptr, y_no_bias.data());
  direct_conv_backward_weights(s, x.data(), dy.data(), dweight.data(), dbias.data());
  direct_conv_backward_weights(s, x.data(), dy.data(), dweight_alone.data(), nullptr);

  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.o; ++o)
      for (int64_t oy = 0; oy < s.ho; ++oy)
        for (int64_t ox = 0; ox < s.wo; ++ox) {
          Sum sum;
          for (int64_t c = 0; c < s.c; ++c)
            for (int64_t i = 0; i < s.kh; ++i)
              for (int64_t j = 0; j < s.kw; ++j)
                sum.add(input(n, c, oy - s.ph + i, ox - s.pw + j) *
                        weight[size_t(((o * s.c + c) * s.kh + i) * s.kw + j)]);
          const size_t at = size_t(((n * s.o + o) * s.ho + oy) * s.wo + ox);
          const std::string where = "y[" + std::to_string(n) + "," + std::to_string(o) + "," + std::to_string(oy) +
                                    "," + std::to_string(ox) + "]";
          expect_near(y_no_bias[at], sum, where + " without bias");
          sum.add(bias[size_t(o)]);
          expect_near(y[at], sum, where);
        }
  for (int64_t o = 0; o < s.o; ++o) {
    Sum bias_sum;
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t p = 0; p < s.ho * s.wo; ++p) bias_sum.add(dy[size_t((n * s.o + o) * s.ho * s.wo + p)]);
    expect_near(dbias[size_t(o)], bias_sum, "dbias[" + std::to_string(o) + "]");
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t i = 0; i < s.kh; ++i)
        for (int64_t j = 0; j < s.kw; ++j) {
          Sum sum;
          for (int64_t n = 0; n < s.n; ++n)
            for (int64_t oy = 0; oy < s.ho; ++oy)
              for (int64_t ox = 0; ox < s.wo; ++ox)
                sum.add(dy[size_t(((n * s.o + o) * s.ho + oy) * s.wo + ox)] *
                        input(n, c, oy - s.ph + i, ox - s.pw + j));
          const size_t at = size_t(((o * s.c + c) * s.kh + i) * s.kw + j);
          const std::string where = "dweight[" + std::to_string(o) + "," + std::to_string(c) + "," + std::to_string(i) +
                                    "," + std::to_string(j) + "]";
          expect_near(dweight[at], sum, where);
          EXPECT_EQ(dweight_alone[at], dweight[at]) << where << " computed without dbias";
        }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, DirectConv,
                         ::testing::Values(Case{3, 1, 28, 28, 6, 5, 5, 2, 2},   // LeNet's first layer
                                           Case{2, 1, 28, 28, 32, 3, 3, 0, 0},  // the Keras-style CNN's first layer
                                           Case{2, 3, 9, 33, 5, 3, 3, 1, 1},  // RGB; rows of 33 cross two vector widths
                                           Case{1, 4, 5, 17, 13, 7, 7, 3,
                                                3},                          // 13 filters fill no register block evenly
                                           Case{2, 2, 6, 1, 8, 1, 1, 0, 0},  // 1x1 kernel on one-pixel rows
                                           Case{3, 1, 4, 40, 1, 2, 2, 0, 1},   // one filter, even kernel
                                           Case{2, 3, 8, 7, 10, 3, 5, 2, 1},   // non-square kernel, wider than tall
                                           Case{2, 2, 7, 16, 24, 4, 6, 1, 2},  // even, non-square kernel
                                           Case{1, 1, 3, 3, 4, 3, 3, 3, 3}),   // padding beyond the kernel's reach
                         [](const ::testing::TestParamInfo<Case>& info) {
                           const Case& k = info.param;
                           char name[96];
                           std::snprintf(name, sizeof name, "c%ld_%ldx%ld_o%ld_k%ldx%ld_p%ld%ld", long(k.c), long(k.h),
                                         long(k.w), long(k.o), long(k.kh), long(k.kw), long(k.ph), long(k.pw));
                           return std::string(name);
                         });

TEST(DirectConv, AppliesOnlyToFewChannelsAtStrideOne) {
  const ConvShape lenet = shape_of({64, 1, 28, 28, 6, 5, 5, 2, 2});
  EXPECT_TRUE(direct_conv_applies(lenet));
  auto with = [&](auto change) {
    ConvShape s = lenet;
    change(s);
    return direct_conv_applies(s);
  };
  EXPECT_FALSE(with([](ConvShape& s) { s.sh = 2; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.sw = 2; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.dw = 2; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.dh = 2; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.c = 2, s.groups = 2; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.c = 5; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.kw = 8; }));
}

}  // namespace
}  // namespace nabla::kernels
