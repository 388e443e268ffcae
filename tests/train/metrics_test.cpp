// Metrics accumulate over the epoch; the progress bar and History format like Keras.
#include "nabla/train/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "nabla/nabla.h"
#include "nabla/train/history.h"
#include "nabla/train/progress_bar.h"

using namespace nabla;
using namespace nabla::train;

TEST(Metrics, AccuracyIsStreamingNotAveragedPerBatch) {
  auto acc = make_metric("accuracy", "sparse_categorical_crossentropy");
  acc->reset();
  // Batch 1: 3 of 4 right; batch 2 (partial): 0 of 1. Streaming: 3/5, not mean(0.75, 0) = 0.375.
  acc->update(tensor({1, 0, 0, 1, 1, 0, 0, 1}, {4, 2}), tensor_i64({0, 1, 0, 0}));
  acc->update(tensor({0, 1}, {1, 2}), tensor_i64({0}));
  EXPECT_DOUBLE_EQ(acc->result(), 0.6);
}

TEST(Metrics, KerasNamesResolveFromTheLoss) {
  auto binary = make_metric("accuracy", "binary_crossentropy");
  binary->update(tensor({0.9f, 0.2f, 0.6f}), tensor({1, 0, 0}));
  EXPECT_NEAR(binary->result(), 2.0 / 3.0, 1e-12);
  auto categorical = make_metric("accuracy", "categorical_crossentropy");
  categorical->update(tensor({0.1f, 0.9f, 0.8f, 0.2f}, {2, 2}), tensor({0, 1, 0, 1}, {2, 2}));
  EXPECT_DOUBLE_EQ(categorical->result(), 0.5);
  auto top2 = top_k_accuracy(2);
  top2->update(tensor({0.1f, 0.5f, 0.4f, 0.7f, 0.2f, 0.1f}, {2, 3}), tensor_i64({2, 2}));
  EXPECT_DOUBLE_EQ(top2->result(), 0.5);
  auto mae = make_metric("mae", "mse");
  mae->update(tensor({1, 2}), tensor({2, 4}));
  EXPECT_DOUBLE_EQ(mae->result(), 1.5);
  EXPECT_THROW(make_metric("precision@k", "mse"), Error);
}

TEST(Metrics, PerplexityIsExpOfMeanTokenCrossEntropy) {
  auto ppl = perplexity();
  Tensor logits = zeros({2, 3, 4});  // uniform over 4 classes -> perplexity 4
  ppl->update(logits, tensor_i64({0, 1, 2, 3, 0, 1}, {2, 3}));
  EXPECT_NEAR(ppl->result(), 4.0, 1e-5);
}

TEST(ProgressBar, RendersKerasFormat) {
  ProgressBar bar(469, 1, stdout, 0);
  std::string line = bar.render(120, {{"accuracy", 0.8125}, {"loss", 0.52}, {"val_loss", 0.6}}, false);
  EXPECT_EQ(line.rfind("120/469 ", 0), 0u) << line;
  EXPECT_NE(line.find("\u2501"), std::string::npos);
  EXPECT_NE(line.find("- accuracy: 0.8125 - loss: 0.5200"), std::string::npos) << line;
  EXPECT_LT(line.find("loss: 0.5200"), line.find("val_loss"));  // validation keys after training keys
  EXPECT_EQ(format_duration(3.2), "3s");
  EXPECT_EQ(format_duration(65), "1:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
}

TEST(ProgressBar, NonInteractiveOutputIsOneLinePerEpoch) {
  std::FILE* f = std::tmpfile();
  ProgressBar bar(100, 1, f, 0);
  for (int s = 1; s <= 100; ++s) bar.update(s, {{"loss", 1.0}});
  bar.finish({{"loss", 0.5}});
  std::rewind(f);
  char buffer[4096];
  size_t n = std::fread(buffer, 1, sizeof buffer, f);
  std::string text(buffer, n);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  std::fclose(f);
}

TEST(History, CollectsPerEpochValuesAndWritesCsv) {
  History h;
  h.append(1, {{"loss", 1.0}, {"accuracy", 0.5}});
  h.append(2, {{"loss", 0.5}, {"accuracy", 0.75}, {"val_loss", 0.7}});
  EXPECT_EQ(h["loss"], std::vector<double>({1.0, 0.5}));
  EXPECT_TRUE(std::isnan(h["val_loss"][0]));
  EXPECT_THROW(h["val_accuracy"], Error);
  std::string path = (std::filesystem::temp_directory_path() / "nabla_history.csv").string();
  h.save_csv(path);
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "epoch,accuracy,loss,val_loss");
}
