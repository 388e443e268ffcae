// Streaming metrics: each accumulates over a whole epoch (correct / total), not an average of
// per-batch values, so the last partial batch weighs what it should.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla::train {

class Metric {
 public:
  virtual ~Metric() = default;
  virtual std::string name() const = 0;
  virtual void reset() = 0;
  // y_pred: the model's output for the batch; y_true: the targets as given to fit().
  virtual void update(const Tensor& y_pred, const Tensor& y_true) = 0;
  virtual double result() const = 0;
  // Whether update() also takes the predicted class indices (i64, y_true's shape) for the scores.
  virtual bool reads_predicted_classes() const { return false; }
  // The sums it accumulates (numerator, denominator), so data-parallel training can add them up
  // across ranks and every rank reports the metric of all the data.
  virtual std::vector<double> totals() const = 0;
  virtual void set_totals(const std::vector<double>& totals) = 0;
};

// Keras' names: "accuracy"/"acc" (resolved from the loss like Keras does), "sparse_categorical_accuracy",
// "categorical_accuracy", "binary_accuracy", "top_k_accuracy" / "top5_accuracy", "mae", "mse",
// "perplexity". `loss_name` picks which accuracy "accuracy" means.
std::unique_ptr<Metric> make_metric(const std::string& name, const std::string& loss_name);

std::unique_ptr<Metric> sparse_categorical_accuracy();
std::unique_ptr<Metric> categorical_accuracy();
std::unique_ptr<Metric> binary_accuracy(double threshold = 0.5, bool from_logits = false);
std::unique_ptr<Metric> top_k_accuracy(int64_t k);
std::unique_ptr<Metric> mean_absolute_error();
std::unique_ptr<Metric> mean_squared_error();
// exp(mean cross-entropy) of logits [..., V] against class indices, over every token of the epoch.
std::unique_ptr<Metric> perplexity(int64_t ignore_index = -100);

}  // namespace nabla::train
