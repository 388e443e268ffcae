// Bad input gives a nabla::Error naming the op and the shapes, never a crash or silent result.
#include <gtest/gtest.h>

#include "nabla/nabla.h"

using namespace nabla;

namespace {
void expect_error(const std::function<void()>& f, std::initializer_list<const char*> fragments) {
  try {
    f();
    FAIL() << "expected nabla::Error";
  } catch (const Error& e) {
    for (const char* fragment : fragments)
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "message: " << e.what();
  }
}
}  // namespace

TEST(Errors, ShapeMismatchesNameTheOpAndShapes) {
  expect_error([] { add(zeros({2, 3}), zeros({4})); }, {"add", "[2, 3]", "[4]"});
  expect_error([] { matmul(zeros({2, 3}), zeros({4, 5})); }, {"matmul", "[2, 3]", "[4, 5]"});
  expect_error([] { linear(zeros({2, 3}), zeros({5, 4})); }, {"linear", "in_features"});
  expect_error([] { conv2d(zeros({1, 3, 8, 8}), zeros({4, 2, 3, 3})); }, {"conv2d", "input channels"});
  expect_error([] { conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3})); }, {"conv2d", "[N, C, H, W]", "unsqueeze"});
  expect_error([] { max_pool2d(zeros({1, 1, 2, 2}), {{3, 3}}); }, {"max_pool2d"});
  expect_error([] { cat({zeros({2, 3}), zeros({3, 3})}, 1); }, {"cat", "dimension 0"});
  expect_error([] { layer_norm(zeros({2, 3}), {4}); }, {"layer_norm", "normalized_shape"});
  expect_error([] { mse_loss(zeros({2}), zeros({3})); }, {"mse_loss", "[2]", "[3]"});
  expect_error(
      [] {
        scaled_dot_product_attention(zeros({2, 4, 8}), zeros({2, 5, 7}), zeros({2, 5, 8}));
      },
      {"scaled_dot_product_attention"});
}

TEST(Errors, OutOfRangeIndicesAreCaught) {
  expect_error([] { embedding(tensor_i64({0, 7}), zeros({5, 2})); }, {"embedding", "index 7", "5 rows"});
  expect_error([] { cross_entropy(zeros({2, 3}), tensor_i64({0, 3})); }, {"cross_entropy", "target 3"});
  expect_error([] { cross_entropy(zeros({2, 3}), tensor_i64({0})); }, {"cross_entropy", "target shape"});
  expect_error(
      [] {
        linear_cross_entropy(zeros({2, 3}), zeros({4, 5}), tensor_i64({0, 1}));
      },
      {"linear_cross_entropy", "features"});
  expect_error(
      [] {
        linear_cross_entropy(zeros({2, 3}), zeros({4, 3}), tensor_i64({0, 4}));
      },
      {"linear_cross_entropy", "target 4"});
  expect_error(
      [] {
        linear_cross_entropy(zeros({2, 3}), zeros({4, 3}), tensor_i64({0}));
      },
      {"linear_cross_entropy", "target shape"});
  expect_error(
      [] {
        linear_cross_entropy(zeros({2, 3}), zeros({4, 3}), tensor_i64({0, 1}), {-100, 0, "none"});
      },
      {"linear_cross_entropy", "reduction"});
  expect_error([] { index_select(zeros({3}), 0, tensor_i64({-1})); }, {"index_select", "-1"});
  expect_error([] { gather(zeros({3, 2}), 1, tensor_i64({0, 2, 1}, {3, 1})); }, {"gather", "index 2"});
  expect_error([] { sum(zeros({2}), {3}); }, {"sum", "dimension 3"});
}

TEST(Errors, WrongDtypesSayHowToConvert) {
  expect_error([] { add(zeros({2}, DType::i64), zeros({2})); }, {"add", "i64", ".to(DType::f32)"});
  expect_error([] { embedding(zeros({2}), zeros({5, 2})); }, {"embedding", "integer"});
  expect_error([] { where(zeros({2}), zeros({2}), zeros({2})); }, {"where", "bool"});
  expect_error([] { binary_cross_entropy(full({2}, 1.5), zeros({2})); }, {"binary_cross_entropy", "probabilities"});
  expect_error([] { cross_entropy(zeros({2, 3}), tensor_i64({0, 1}), {-100, 0.0, "avg"}); }, {"reduction", "avg"});
  expect_error([] { gelu(zeros({2}), "fast"); }, {"gelu", "fast"});
}
