// Tensor handles, views without copies, creation, dtype conversion and printing.
#include <gtest/gtest.h>

#include <sstream>

#include "nabla/core/checked.h"
#include "nabla/core/views.h"
#include "nabla/nabla.h"

using namespace nabla;

TEST(Tensor, CreationFillsShapesAndValues) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), Shape({2, 3}));
  EXPECT_EQ(z.numel(), 6);
  for (float v : z.to_vector<float>()) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(full({2}, 3.5).to_vector<float>(), std::vector<float>({3.5f, 3.5f}));
  EXPECT_EQ(arange(0.0, 1.0, 0.25).to_vector<float>(), std::vector<float>({0, 0.25f, 0.5f, 0.75f}));
  EXPECT_EQ(arange(4).to_vector<int64_t>(), std::vector<int64_t>({0, 1, 2, 3}));
  EXPECT_EQ(linspace(0, 1, 5).to_vector<float>(), std::vector<float>({0, 0.25f, 0.5f, 0.75f, 1}));
  EXPECT_EQ(eye(2).to_vector<float>(), std::vector<float>({1, 0, 0, 1}));
  EXPECT_EQ(tensor({1, 2, 3, 4}, {2, 2}).at({1, 0}), 3.0f);
  EXPECT_EQ(scalar_tensor(7).dim(), 0);
  EXPECT_EQ(scalar_tensor(7).item(), 7.0f);
}

TEST(Tensor, RandomIsSeededAndWellDistributed) {
  Generator a(42), b(42);
  EXPECT_EQ(randn({100}, a).to_vector<float>(), randn({100}, b).to_vector<float>());
  Tensor x = randn({20000}, a);
  EXPECT_NEAR(mean(x).item(), 0.0f, 0.03f);
  EXPECT_NEAR(var(x).item(), 1.0f, 0.05f);
  Tensor u = rand({20000}, a);
  EXPECT_GE(min(u).item(), 0.0f);
  EXPECT_LT(max(u).item(), 1.0f);
  EXPECT_NEAR(mean(bernoulli({20000}, 0.3, a)).item(), 0.3f, 0.02f);
  Tensor r = randint(3, 7, {1000}, a);
  for (int64_t v : r.to_vector<int64_t>()) EXPECT_TRUE(v >= 3 && v < 7);
  std::vector<int64_t> perm = randperm(50, a).to_vector<int64_t>();
  std::sort(perm.begin(), perm.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(perm[i], i);
}

TEST(Tensor, GeneratorStateRoundTrips) {
  Generator g(7);
  g.normal();  // leaves a cached spare normal in the state
  auto state = g.state();
  float expected = g.normal();
  uint64_t expected_u = g.next_u64();
  Generator h(0);
  h.set_state(state);
  EXPECT_EQ(h.normal(), expected);
  EXPECT_EQ(h.next_u64(), expected_u);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor x = arange(0.0, 12.0).reshape({3, 4});
  Tensor t = x.t();
  EXPECT_EQ(t.shape(), Shape({4, 3}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.storage(), x.storage());
  EXPECT_EQ(t.at({3, 1}), 7.0f);
  Tensor row = x[1];
  EXPECT_EQ(row.to_vector<float>(), std::vector<float>({4, 5, 6, 7}));
  Tensor col = x.select(1, 2);
  EXPECT_EQ(col.to_vector<float>(), std::vector<float>({2, 6, 10}));
  Tensor stepped = x.slice(1, 0, 4, 2);
  EXPECT_EQ(stepped.to_vector<float>(), std::vector<float>({0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(x.narrow(0, 1, 2).to_vector<float>()[0], 4.0f);
  EXPECT_EQ(x.unsqueeze(0).shape(), Shape({1, 3, 4}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), Shape({3, 4, 1}));
  EXPECT_EQ(x.unsqueeze(0).squeeze().shape(), Shape({3, 4}));
  Tensor e = tensor({1, 2, 3}).expand({2, 3});
  EXPECT_EQ(e.strides()[0], 0);
  EXPECT_EQ(e.to_vector<float>(), std::vector<float>({1, 2, 3, 1, 2, 3}));
  EXPECT_EQ(x.permute({1, 0}).contiguous().to_vector<float>(), t.contiguous().to_vector<float>());
  EXPECT_EQ(x.flatten().shape(), Shape({12}));
  // Writes through a view are visible in the base.
  {
    NoGradGuard no_grad;
    row.fill_(-1);
  }
  EXPECT_EQ(x.at({1, 3}), -1.0f);
}

TEST(Tensor, ReshapeViewsWhenPossibleAndCopiesOtherwise) {
  Tensor x = arange(0.0, 24.0).reshape({2, 3, 4});
  EXPECT_EQ(x.reshape({6, 4}).storage(), x.storage());
  EXPECT_EQ(x.reshape({-1}).shape(), Shape({24}));
  Tensor t = x.transpose(1, 2);
  EXPECT_THROW(t.view({24}), Error);
  Tensor flat = t.reshape({24});
  EXPECT_NE(flat.storage(), x.storage());
  EXPECT_EQ(flat.to_vector<float>()[1], 4.0f);
  EXPECT_THROW(x.reshape({5, 5}), Error);
  EXPECT_THROW(x.reshape({-1, -1}), Error);
}

TEST(Tensor, DtypeConversionRoundsLikePyTorch) {
  Tensor x = tensor({1.5f, -2.7f, 3.0f});
  EXPECT_EQ(x.to(DType::i64).to_vector<int64_t>(), std::vector<int64_t>({1, -2, 3}));
  // bf16 keeps 8 mantissa bits, rounding to nearest even.
  EXPECT_EQ(tensor({1.00390625f}).to(DType::bf16).to(DType::f32).item(), 1.0f);
  EXPECT_EQ(tensor({1.01171875f}).to(DType::bf16).to(DType::f32).item(), 1.015625f);
  EXPECT_EQ(x.to(DType::boolean).to_vector<bool>(), std::vector<bool>({true, true, true}));
  EXPECT_THROW(x.data<int64_t>(), Error);
}

TEST(Tensor, PrintsValuesShapeAndDtype) {
  std::ostringstream out;
  out << tensor({1, 2, 3, 4}, {2, 2});
  EXPECT_NE(out.str().find("1.0000"), std::string::npos);
  EXPECT_NE(out.str().find("shape=[2, 2]"), std::string::npos);
  EXPECT_NE(out.str().find("dtype=f32"), std::string::npos);
}

TEST(Tensor, BadArgumentsNameTheProblem) {
  Tensor x = zeros({2, 3});
  try {
    x.select(0, 5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos);
  }
  EXPECT_THROW(x.permute({0, 0}), Error);
  EXPECT_THROW(x.transpose(0, 2), Error);
  EXPECT_THROW(x.item(), Error);
  EXPECT_THROW(x.expand({4, 3}), Error);
  EXPECT_THROW(zeros({2}, DType::i64).requires_grad_(), Error);
  EXPECT_THROW(tensor({1, 2, 3}, {2, 2}), Error);
}

TEST(Parallel, ThreadCountIsConfigurable) {
  int before = num_threads();
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  set_num_threads(before);
  EXPECT_THROW(set_num_threads(0), Error);
}

// Sizes from outside input are multiplied and added with overflow checks, never wrapped.
TEST(Checked, SizesThatOverflowOrPassTheLimitAreErrors) {
  EXPECT_EQ(checked_mul(1 << 20, 1 << 20, "probe"), int64_t(1) << 40);
  EXPECT_EQ(checked_product({2, 3, 7}, "probe"), 42);
  EXPECT_THROW(checked_mul(int64_t(1) << 32, int64_t(1) << 32, "probe"), Error);
  EXPECT_THROW(checked_mul(-1, 5, "probe"), Error);
  EXPECT_THROW(checked_mul(100, 100, "probe", 9999), Error);
  EXPECT_THROW(checked_add(INT64_MAX, 1, "probe"), Error);
  try {
    checked_product({4294967296, 4294967296, 3}, "image.pgm: width x height");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("image.pgm: width x height: 4294967296 x 4294967296 is too large"),
              std::string::npos)
        << e.what();
  }
}
