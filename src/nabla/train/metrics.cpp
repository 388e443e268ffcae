#include "nabla/train/metrics.h"

#include <cmath>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/loss.h"
#include "nabla/ops/reduce.h"

namespace nabla::train {
namespace {

// A ratio accumulated over the epoch.
class RatioMetric : public Metric {
 public:
  explicit RatioMetric(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void reset() override { numerator_ = denominator_ = 0; }
  double result() const override { return denominator_ > 0 ? numerator_ / denominator_ : 0.0; }
  std::vector<double> totals() const override { return {numerator_, denominator_}; }
  void set_totals(const std::vector<double>& totals) override {
    NABLA_CHECK(totals.size() == 2, name(), ": set_totals needs {numerator, denominator}, got ", totals.size(),
                " values");
    numerator_ = totals[0];
    denominator_ = totals[1];
  }

 protected:
  void add(double numerator, double denominator) {
    numerator_ += numerator;
    denominator_ += denominator;
  }

 private:
  std::string name_;
  double numerator_ = 0, denominator_ = 0;
};

double count_true(const Tensor& mask) { return sum(mask.to(DType::f32)).item<double>(); }

class SparseCategoricalAccuracy : public RatioMetric {
 public:
  SparseCategoricalAccuracy() : RatioMetric("accuracy") {}
  bool reads_predicted_classes() const override { return true; }
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    NoGradGuard no_grad;
    const bool classes = y_pred.dtype() == DType::i64;
    NABLA_CHECK(classes ? y_pred.numel() == y_true.numel()
                        : y_true.numel() * y_pred.shape()[y_pred.dim() - 1] == y_pred.numel(),
                "accuracy: predictions ", y_pred.shape(), " do not fit class-index targets ", y_true.shape(),
                "; for one-hot targets use categorical_accuracy");
    Tensor predicted = classes ? y_pred.reshape({-1}) : argmax(y_pred, -1).reshape({-1});
    const Tensor truth = y_true.to(DType::i64).reshape({-1});
    // Positions labelled -100 count nowhere, as the loss ignores them (masked-LM: unmasked tokens).
    const Tensor counted = ne(truth, full_like(truth, -100.0));
    add(sum(mul(eq(predicted, truth).to(DType::f32), counted.to(DType::f32))).item<double>(), count_true(counted));
  }
};

class CategoricalAccuracy : public RatioMetric {
 public:
  CategoricalAccuracy() : RatioMetric("accuracy") {}
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    NoGradGuard no_grad;
    NABLA_CHECK(y_pred.shape() == y_true.shape(), "categorical_accuracy: predictions ", y_pred.shape(),
                " and one-hot targets ", y_true.shape(), " differ in shape");
    Tensor hits = eq(argmax(y_pred, -1), argmax(y_true.to(DType::f32), -1));
    add(count_true(hits), double(hits.numel()));
  }
};

class BinaryAccuracy : public RatioMetric {
 public:
  BinaryAccuracy(double threshold, bool from_logits)
      : RatioMetric("accuracy"), threshold_(threshold), from_logits_(from_logits) {}
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    NoGradGuard no_grad;
    NABLA_CHECK(y_pred.numel() == y_true.numel(), "binary_accuracy: ", y_pred.numel(), " predictions for ",
                y_true.numel(), " targets");
    // A logit above logit(threshold) is the same decision as a probability above threshold.
    const double cut = from_logits_ ? std::log(threshold_ / (1 - threshold_)) : threshold_;
    Tensor predicted = gt(y_pred.reshape({-1}), full({}, cut));
    Tensor truth = gt(y_true.to(DType::f32).reshape({-1}), full({}, 0.5));
    add(count_true(eq(predicted, truth)), double(predicted.numel()));
  }

 private:
  double threshold_;
  bool from_logits_;
};

class TopKAccuracy : public RatioMetric {
 public:
  explicit TopKAccuracy(int64_t k) : RatioMetric("top_" + std::to_string(k) + "_accuracy"), k_(k) {}
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    NoGradGuard no_grad;
    const int64_t classes = y_pred.shape()[y_pred.dim() - 1];
    Tensor scores = y_pred.reshape({-1, classes}).contiguous();
    Tensor labels = y_true.to(DType::i64).reshape({-1}).contiguous();
    const float* s = scores.data<float>();
    const int64_t* l = labels.data<int64_t>();
    double hits = 0;
    for (int64_t r = 0; r < labels.numel(); ++r) {
      // The label is in the top k when fewer than k classes score strictly higher.
      const float target = s[r * classes + l[r]];
      int64_t higher = 0;
      for (int64_t c = 0; c < classes; ++c) higher += s[r * classes + c] > target;
      hits += higher < k_;
    }
    add(hits, double(labels.numel()));
  }

 private:
  int64_t k_;
};

class MeanError : public RatioMetric {
 public:
  explicit MeanError(bool absolute) : RatioMetric(absolute ? "mae" : "mse"), absolute_(absolute) {}
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    NoGradGuard no_grad;
    Tensor diff = sub(y_pred, y_true.to(DType::f32).reshape(y_pred.shape()));
    add(sum(absolute_ ? abs(diff) : mul(diff, diff)).item<double>(), double(diff.numel()));
  }

 private:
  bool absolute_;
};

class Perplexity : public RatioMetric {
 public:
  explicit Perplexity(int64_t ignore_index) : RatioMetric("perplexity"), ignore_index_(ignore_index) {}
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    NoGradGuard no_grad;
    const int64_t classes = y_pred.shape()[y_pred.dim() - 1];
    Tensor targets = y_true.to(DType::i64).reshape({-1});
    double tokens = count_true(ne(targets, full({}, double(ignore_index_), DType::i64)));
    add(cross_entropy(y_pred.reshape({-1, classes}), targets, {ignore_index_, 0.0, "sum"}).item<double>(), tokens);
  }
  double result() const override { return std::exp(RatioMetric::result()); }

 private:
  int64_t ignore_index_;
};

}  // namespace

std::unique_ptr<Metric> sparse_categorical_accuracy() { return std::make_unique<SparseCategoricalAccuracy>(); }
std::unique_ptr<Metric> categorical_accuracy() { return std::make_unique<CategoricalAccuracy>(); }
std::unique_ptr<Metric> binary_accuracy(double threshold, bool from_logits) {
  return std::make_unique<BinaryAccuracy>(threshold, from_logits);
}
std::unique_ptr<Metric> top_k_accuracy(int64_t k) {
  NABLA_CHECK(k >= 1, "top_k_accuracy: k must be at least 1, got ", k);
  return std::make_unique<TopKAccuracy>(k);
}
std::unique_ptr<Metric> mean_absolute_error() { return std::make_unique<MeanError>(true); }
std::unique_ptr<Metric> mean_squared_error() { return std::make_unique<MeanError>(false); }
std::unique_ptr<Metric> perplexity(int64_t ignore_index) { return std::make_unique<Perplexity>(ignore_index); }

std::unique_ptr<Metric> make_metric(const std::string& name, const std::string& loss_name) {
  if (name == "accuracy" || name == "acc") {
    // Keras resolves "accuracy" from the loss.
    if (loss_name.find("binary") != std::string::npos)
      return binary_accuracy(0.5, loss_name.find("logits") != std::string::npos);
    if (loss_name == "categorical_crossentropy") return categorical_accuracy();
    return sparse_categorical_accuracy();
  }
  if (name == "sparse_categorical_accuracy") return sparse_categorical_accuracy();
  if (name == "categorical_accuracy") return categorical_accuracy();
  if (name == "binary_accuracy") return binary_accuracy();
  if (name == "top_k_accuracy" || name == "top5_accuracy" || name == "sparse_top_k_categorical_accuracy")
    return top_k_accuracy(5);
  if (name == "mae" || name == "mean_absolute_error") return mean_absolute_error();
  if (name == "mse" || name == "mean_squared_error") return mean_squared_error();
  if (name == "perplexity") return perplexity();
  fail("unknown metric \"", name,
       "\"; known metrics: accuracy, sparse_categorical_accuracy, categorical_accuracy, "
       "binary_accuracy, top_k_accuracy, mae, mse, perplexity");
}

}  // namespace nabla::train
