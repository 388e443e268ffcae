// Dataset: what Model::fit/evaluate read from — random access to (x, y) batches by sample index.
// TensorDataset wraps in-memory tensors; Subset views part of another dataset (validation_split).
// The data layer's loaders (text windows, images on disk) implement the same interface.
#pragma once
#include <memory>
#include <utility>

#include "nabla/core/tensor.h"

namespace nabla::train {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Inputs and targets for the given i64 sample indices, batched along dimension 0.
  virtual std::pair<Tensor, Tensor> batch(const Tensor& indices) const = 0;
};

class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor x, Tensor y);  // equal lengths along dimension 0, or an error
  int64_t size() const override { return x_.shape()[0]; }
  std::pair<Tensor, Tensor> batch(const Tensor& indices) const override;

 private:
  Tensor x_, y_;
};

// Samples [begin, begin + length) of another dataset.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> base, int64_t begin, int64_t length);
  int64_t size() const override { return length_; }
  std::pair<Tensor, Tensor> batch(const Tensor& indices) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t begin_, length_;
};

}  // namespace nabla::train
