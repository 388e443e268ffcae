// Confusion matrices: counts on a hand-made case, label checks, and the heat-map files.
#include "nabla/viz/confusion_matrix.h"

#include <gtest/gtest.h>

#include "image_checks.h"
#include "nabla/core/creation.h"
#include "nabla/core/error.h"

using namespace nabla;
using namespace nabla::viz;
using namespace nabla::viz::testing;

TEST(ConfusionCounts, HandMadeCaseRowsAreTrueColumnsArePredicted) {
  //                         sample: 0  1  2  3  4  5  6
  Tensor predicted = tensor_i64({0, 1, 2, 2, 1, 0, 2});
  Tensor target = tensor_i64({0, 1, 1, 2, 2, 0, 0});
  std::vector<std::vector<int64_t>> expected = {{2, 0, 1},   // class 0: two right, one called 2
                                                {0, 1, 1},   // class 1: one right, one called 2
                                                {0, 1, 1}};  // class 2: one called 1, one right
  EXPECT_EQ(confusion_counts(predicted, target, 3), expected);
  // A class that never occurs still gets its row and column.
  std::vector<std::vector<int64_t>> with_unused = confusion_counts(predicted, target, 4);
  EXPECT_EQ(with_unused.size(), 4u);
  EXPECT_EQ(with_unused[3], (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(with_unused[0][3], 0);
}

TEST(ConfusionCounts, AcceptsOtherIntegerDtypesAndShapes) {
  Tensor predicted = tensor_i64({1, 1, 0, 1}, {2, 2}).to(DType::i32);
  Tensor target = tensor_i64({1, 0, 0, 1}).to(DType::u8);
  EXPECT_EQ(confusion_counts(predicted, target, 2), (std::vector<std::vector<int64_t>>{{1, 1}, {0, 2}}));
  // A transposed (non-contiguous) view counts its elements in logical order.
  Tensor p = tensor_i64({0, 0, 1, 1}, {2, 2}).t();  // logical order 0, 1, 0, 1; storage order 0, 0, 1, 1
  EXPECT_EQ(confusion_counts(p, tensor_i64({0, 0, 1, 1}), 2), (std::vector<std::vector<int64_t>>{{1, 1}, {1, 1}}));
}

TEST(ConfusionCounts, BadLabelsAreErrorsNamingTheProblem) {
  auto message_of = [](const Tensor& p, const Tensor& t, int64_t classes) {
    try {
      confusion_counts(p, t, classes);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of(tensor_i64({0, 3}), tensor_i64({0, 1}), 3).find("predicted[1] = 3"), std::string::npos);
  EXPECT_NE(message_of(tensor_i64({0, 1}), tensor_i64({-1, 1}), 3).find("target[0] = -1"), std::string::npos);
  EXPECT_NE(message_of(tensor_i64({0, 1, 1}), tensor_i64({0, 1}), 3).find("3 labels but target has 2"),
            std::string::npos);
  EXPECT_NE(message_of(tensor({0.2f, 0.8f}), tensor_i64({0, 1}), 2).find("argmax"), std::string::npos);
  EXPECT_NE(message_of(tensor_i64({0}), tensor_i64({0}), 0).find("at least 1"), std::string::npos);
}

TEST(ConfusionMatrixImage, WritesSquareHeatMapWithNamesCountsAndAccuracy) {
  fs::path dir = fresh_test_dir();
  std::vector<std::vector<int64_t>> counts = {{50, 3, 0}, {4, 40, 6}, {0, 2, 95}};
  save_confusion_matrix(counts, {"cat", "dog", "T-shirt/top"}, (dir / "confusion").string());
  PngSize size = png_size(dir / "confusion.png");
  EXPECT_EQ(size.width, 800u);
  EXPECT_EQ(size.height, 800u);
  const std::string svg = read_bytes(dir / "confusion.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  for (const char* text :
       {"cat", "dog", "T-shirt/top", "95", "predicted class", "true class", "accuracy 92.50% (185 of 200)"}) {
    EXPECT_TRUE(svg_has_text(svg, text)) << "the SVG lacks \"" << text << "\"";
  }
  EXPECT_TRUE(temporary_files(dir).empty());
}

TEST(ConfusionMatrixImage, CustomSizeDefaultNamesManyClassesAndNoSamples) {
  fs::path dir = fresh_test_dir();
  save_confusion_matrix({{5, 1}, {2, 12}}, {}, (dir / "small").string(), 640, 480);
  PngSize size = png_size(dir / "small.png");
  EXPECT_EQ(size.width, 640u);
  EXPECT_EQ(size.height, 480u);
  EXPECT_TRUE(svg_has_text(read_bytes(dir / "small.svg"), "accuracy 85.00% (17 of 20)"));

  std::vector<std::vector<int64_t>> many(60, std::vector<int64_t>(60, 1));
  save_confusion_matrix(many, {}, (dir / "many").string());
  EXPECT_EQ(png_size(dir / "many.png").width, 800u);

  save_confusion_matrix({{0, 0}, {0, 0}}, {"a", "b"}, (dir / "empty").string());
  EXPECT_TRUE(svg_has_text(read_bytes(dir / "empty.svg"), "no samples"));
}

TEST(ConfusionMatrixImage, MalformedCountsAreErrors) {
  fs::path dir = fresh_test_dir();
  const std::string path = (dir / "bad").string();
  EXPECT_THROW(save_confusion_matrix({}, {}, path), Error);
  EXPECT_THROW(save_confusion_matrix({{1, 2}, {3}}, {}, path), Error);
  EXPECT_THROW(save_confusion_matrix({{1, -2}, {3, 4}}, {}, path), Error);
  EXPECT_THROW(save_confusion_matrix({{1, 2}, {3, 4}}, {"only one name"}, path), Error);
  EXPECT_FALSE(fs::exists(dir / "bad.png"));
}
