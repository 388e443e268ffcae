// Parameter initialisers, in place and seeded by the global generator (PyTorch's nn.init).
#pragma once
#include "nabla/core/random.h"
#include "nabla/core/tensor.h"

namespace nabla::nn::init {

// fan_in / fan_out of a weight: [out, in] for Linear, [out, in/groups, kh, kw] for convolutions.
std::pair<int64_t, int64_t> fans(const Tensor& weight);

void uniform_(Tensor& t, double low, double high, Generator& gen = default_generator());
void normal_(Tensor& t, double mean, double std, Generator& gen = default_generator());
void constant_(Tensor& t, double value);
void zeros_(Tensor& t);
void ones_(Tensor& t);
void xavier_uniform_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
void xavier_normal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
// nonlinearity "relu" (gain sqrt 2) or "leaky_relu" with slope a; mode "fan_in" or "fan_out".
void kaiming_uniform_(Tensor& t, double a = 0, const std::string& mode = "fan_in",
                      const std::string& nonlinearity = "leaky_relu", Generator& gen = default_generator());
void kaiming_normal_(Tensor& t, double a = 0, const std::string& mode = "fan_in",
                     const std::string& nonlinearity = "leaky_relu", Generator& gen = default_generator());
// A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, scaled by gain.
void orthogonal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());

}  // namespace nabla::nn::init
