// Normalisation layers: BatchNorm over channels (with running statistics as buffers, named as
// in PyTorch) and LayerNorm over trailing dims.
#pragma once
#include <vector>

#include "nabla/nn/module.h"

namespace nabla::nn {

// BatchNorm1d takes [N, C] or [N, C, L]; BatchNorm2d takes [N, C, H, W].
class BatchNorm : public Module {
 public:
  BatchNorm(const char* type, int expected_rank_low, int expected_rank_high, int64_t num_features, double eps,
            double momentum, bool affine, bool track_running_stats);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  const int64_t num_features;
  const double eps, momentum;

 private:
  int rank_low_, rank_high_;
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm("BatchNorm1d", 2, 3, num_features, eps, momentum, affine, track_running_stats) {}
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm("BatchNorm2d", 4, 4, num_features, eps, momentum, affine, track_running_stats) {}
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::vector<int64_t> normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  explicit LayerNorm(int64_t features, double eps = 1e-5) : LayerNorm(std::vector<int64_t>{features}, eps) {}
  Tensor forward(const Tensor& x) override;

  Tensor weight, bias;
  const std::vector<int64_t> normalized_shape;
  const double eps;
};

}  // namespace nabla::nn
