#include "nabla/nn/init.h"

#include <cmath>
#include <vector>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/kernels/copy.h"

namespace nabla::nn::init {
namespace {

// Writes freshly generated values into t (works for views and parameters alike).
void assign(Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  kernels::copy_elements(values, t);
  t.storage()->bump_version();
}

double gain_for(const std::string& nonlinearity, double a) {
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1 + a * a));
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "linear" || nonlinearity == "sigmoid") return 1.0;
  fail("init: unknown nonlinearity \"", nonlinearity, "\" (expected relu, leaky_relu, tanh, sigmoid or linear)");
}

int64_t fan_for(const Tensor& t, const std::string& mode) {
  auto [fan_in, fan_out] = fans(t);
  NABLA_CHECK(mode == "fan_in" || mode == "fan_out", "init: mode must be \"fan_in\" or \"fan_out\", got \"", mode,
              "\"");
  return mode == "fan_in" ? fan_in : fan_out;
}

}  // namespace

std::pair<int64_t, int64_t> fans(const Tensor& weight) {
  NABLA_CHECK(weight.dim() >= 2, "init: fan in/out need a weight with at least 2 dimensions, got ", weight.shape());
  int64_t receptive = 1;
  for (int i = 2; i < weight.dim(); ++i) receptive *= weight.shape()[i];
  return {weight.shape()[1] * receptive, weight.shape()[0] * receptive};
}

void uniform_(Tensor& t, double low, double high, Generator& gen) { assign(t, uniform(t.shape(), low, high, gen)); }
void normal_(Tensor& t, double mean, double std, Generator& gen) { assign(t, normal(t.shape(), mean, std, gen)); }
void constant_(Tensor& t, double value) { assign(t, full(t.shape(), value)); }
void zeros_(Tensor& t) { constant_(t, 0.0); }
void ones_(Tensor& t) { constant_(t, 1.0); }

void xavier_uniform_(Tensor& t, double gain, Generator& gen) {
  auto [fan_in, fan_out] = fans(t);
  const double bound = gain * std::sqrt(6.0 / double(fan_in + fan_out));
  uniform_(t, -bound, bound, gen);
}

void xavier_normal_(Tensor& t, double gain, Generator& gen) {
  auto [fan_in, fan_out] = fans(t);
  normal_(t, 0.0, gain * std::sqrt(2.0 / double(fan_in + fan_out)), gen);
}

void kaiming_uniform_(Tensor& t, double a, const std::string& mode, const std::string& nonlinearity, Generator& gen) {
  const double bound = gain_for(nonlinearity, a) * std::sqrt(3.0 / double(fan_for(t, mode)));
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(Tensor& t, double a, const std::string& mode, const std::string& nonlinearity, Generator& gen) {
  normal_(t, 0.0, gain_for(nonlinearity, a) / std::sqrt(double(fan_for(t, mode))), gen);
}

void orthogonal_(Tensor& t, double gain, Generator& gen) {
  NABLA_CHECK(t.dim() >= 2, "orthogonal_: needs at least 2 dimensions, got ", t.shape());
  const int64_t rows = t.shape()[0], cols = t.numel() / rows;
  // Gram-Schmidt on the longer side's Gaussian vectors (modified, in double, for stability).
  const bool transpose = rows < cols;
  const int64_t n = transpose ? rows : cols, len = transpose ? cols : rows;
  std::vector<double> q(size_t(n * len));
  for (auto& v : q) v = gen.normal();
  for (int64_t i = 0; i < n; ++i) {
    double* vi = q.data() + i * len;
    for (int64_t j = 0; j < i; ++j) {
      const double* vj = q.data() + j * len;
      double dot = 0;
      for (int64_t k = 0; k < len; ++k) dot += vi[k] * vj[k];
      for (int64_t k = 0; k < len; ++k) vi[k] -= dot * vj[k];
    }
    double norm = 0;
    for (int64_t k = 0; k < len; ++k) norm += vi[k] * vi[k];
    norm = std::sqrt(norm);
    for (int64_t k = 0; k < len; ++k) vi[k] /= norm;
  }
  Tensor values = Tensor::empty({rows, cols});
  float* out = values.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = float(gain * (transpose ? q[r * len + c] : q[c * len + r]));
  assign(t, values.reshape(t.shape()));
}

}  // namespace nabla::nn::init
