// 2-D convolution through oneDNN: forward, backward-data and backward-weights primitives,
// cached by shape. Tensors are plain NCHW / OIHW; oneDNN picks its blocked layouts inside
// and we reorder at the boundary. Images with few input channels take the direct kernels of
// conv_direct.h for forward and weight gradients instead.
#pragma once
#include <cstdint>

namespace nabla::kernels {

struct ConvShape {
  int64_t n, c, h, w;  // input
  int64_t o, kh, kw;   // output channels, kernel
  int64_t sh, sw, ph, pw, dh, dw, groups;
  int64_t ho, wo;  // output spatial size
  bool operator==(const ConvShape&) const = default;
};

void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias, float* y);
// Input and weight gradients in one call, so dy is reordered to oneDNN's layout once. Any of
// dx, dweight, dbias may be null (dbias is only computed with dweight); x is read only for dweight.
void conv2d_backward(const ConvShape& s, const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, float* dbias);

}  // namespace nabla::kernels
