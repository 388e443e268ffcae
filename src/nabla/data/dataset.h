// Dataset: random access to (x, y) batches by sample index — what DataLoader and Model::fit read.
// TensorDataset wraps in-memory tensors; Subset views a contiguous part of another dataset.
#pragma once
#include <memory>
#include <utility>

#include "nabla/core/tensor.h"

namespace nabla::data {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Inputs and targets for the given i64 sample indices, batched along dimension 0.
  virtual std::pair<Tensor, Tensor> batch(const Tensor& indices) const = 0;
  // True when batch() may run on a background thread while the caller trains: it must not draw
  // from the global generator or touch shared mutable state. False (the safe default) makes the
  // DataLoader build this dataset's batches on the caller's thread instead.
  virtual bool can_prefetch() const { return false; }
};

class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor x, Tensor y);  // equal lengths along dimension 0, or an error
  int64_t size() const override { return x_.shape()[0]; }
  std::pair<Tensor, Tensor> batch(const Tensor& indices) const override;
  bool can_prefetch() const override { return true; }
  const Tensor& x() const { return x_; }
  const Tensor& y() const { return y_; }

 private:
  Tensor x_, y_;
};

// Samples [begin, begin + length) of another dataset.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> base, int64_t begin, int64_t length);
  int64_t size() const override { return length_; }
  std::pair<Tensor, Tensor> batch(const Tensor& indices) const override;
  bool can_prefetch() const override { return base_->can_prefetch(); }

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t begin_, length_;
};

}  // namespace nabla::data
