// TensorDataset and Subset: the in-memory dataset and a contiguous view of another one.
#include "nabla/data/dataset.h"

#include "nabla/ops/shape_ops.h"

namespace nabla::data {

TensorDataset::TensorDataset(Tensor x, Tensor y) : x_(std::move(x)), y_(std::move(y)) {
  NABLA_CHECK(x_.defined() && y_.defined(), "dataset: x and y must both be given");
  NABLA_CHECK(x_.dim() >= 1 && y_.dim() >= 1 && x_.shape()[0] == y_.shape()[0], "dataset: x has ",
              x_.dim() ? x_.shape()[0] : 0, " samples (shape ", x_.shape(), ") but y has ",
              y_.dim() ? y_.shape()[0] : 0, " (shape ", y_.shape(), "); they must have the same length");
}

std::pair<Tensor, Tensor> TensorDataset::batch(const Tensor& indices) const {
  return {index_select(x_, 0, indices), index_select(y_, 0, indices)};
}

Subset::Subset(std::shared_ptr<const Dataset> base, int64_t begin, int64_t length)
    : base_(std::move(base)), begin_(begin), length_(length) {
  NABLA_CHECK(base_ && begin >= 0 && length >= 0 && begin + length <= base_->size(), "Subset: range [", begin, ", ",
              begin + length, ") is outside a dataset of ", base_ ? base_->size() : 0, " samples");
}

std::pair<Tensor, Tensor> Subset::batch(const Tensor& indices) const {
  Tensor shifted = indices.to(DType::i64).clone();
  int64_t* p = shifted.data<int64_t>();
  for (int64_t i = 0, n = shifted.numel(); i < n; ++i) {
    NABLA_CHECK(p[i] >= 0 && p[i] < length_, "Subset: index ", p[i], " is outside its ", length_, " samples");
    p[i] += begin_;
  }
  return base_->batch(shifted);
}

}  // namespace nabla::data
