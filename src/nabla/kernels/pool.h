// Pooling over NCHW planes: each (n, c) plane is independent, so planes are the parallel unit.
#pragma once
#include <cstdint>

namespace nabla::kernels {

struct PoolShape {
  int64_t planes, h, w, ho, wo, kh, kw, sh, sw, ph, pw;
};

// argmax: flat index within the input plane of each output's maximum (for backward), -1 for none.
// With relu, y = relu(max), which is max_pool2d(relu(x)) (ReLU commutes with max) at a quarter of
// a separate relu's memory traffic; argmax is -1 where y is 0, so no gradient flows there.
void max_pool2d_forward(const PoolShape& s, const float* x, float* y, int32_t* argmax, bool relu = false);
void max_pool2d_backward(const PoolShape& s, const float* dy, const int32_t* argmax, float* dx);
void avg_pool2d_forward(const PoolShape& s, const float* x, float* y, bool count_include_pad);
void avg_pool2d_backward(const PoolShape& s, const float* dy, float* dx, bool count_include_pad);
void adaptive_avg_pool2d_forward(int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo, const float* x,
                                 float* y);
void adaptive_avg_pool2d_backward(int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo, const float* dy,
                                  float* dx);

}  // namespace nabla::kernels
