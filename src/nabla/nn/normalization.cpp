#include "nabla/nn/normalization.h"

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/ops/nn_functional.h"

namespace nabla::nn {

BatchNorm::BatchNorm(const char* type, int rank_low, int rank_high, int64_t n, double eps, double momentum, bool affine,
                     bool track_running_stats)
    : Module(type), num_features(n), eps(eps), momentum(momentum), rank_low_(rank_low), rank_high_(rank_high) {
  NABLA_CHECK(n > 0, type, ": num_features must be positive, got ", n);
  if (affine) {
    weight = register_parameter("weight", ones({n}));
    bias = register_parameter("bias", zeros({n}));
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({n}));
    running_var = register_buffer("running_var", ones({n}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::i64));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  NABLA_CHECK(x.dim() >= rank_low_ && x.dim() <= rank_high_ && x.shape()[1] == num_features, type_name(),
              ": expected input of ", rank_low_ == rank_high_ ? std::to_string(rank_low_) : "2 or 3",
              " dimensions with ", num_features, " channels in dimension 1, got shape ", x.shape());
  const bool use_batch_stats = is_training() || !running_mean.defined();
  if (is_training() && num_batches_tracked.defined()) {
    NoGradGuard no_grad;
    num_batches_tracked.data<int64_t>()[0] += 1;
  }
  return batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, momentum, eps);
}

std::string BatchNorm::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + std::to_string(eps) + ", momentum=" + std::to_string(momentum);
}

LayerNorm::LayerNorm(std::vector<int64_t> shape, double eps, bool affine)
    : Module("LayerNorm"), normalized_shape(std::move(shape)), eps(eps) {
  if (affine) {
    weight = register_parameter("weight", ones(Shape(normalized_shape)));
    bias = register_parameter("bias", zeros(Shape(normalized_shape)));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape, weight, bias, eps); }

}  // namespace nabla::nn
