// Direct convolution for images with few input channels (a network's first layer: grayscale or
// RGB), stride 1, on plain NCHW data. oneDNN's kernels block channels by 8 or 16, so with one
// input channel and a handful of filters most of their work is padding, and their blocked output
// costs a reorder each way that takes longer than the convolution (LeNet's 64x1x28x28 -> 6, 5x5:
// 150-180 us of primitive plus 130 us of reorder per forward). Here each output row is a few
// vectors wide and every filter tap is one fused multiply-add per vector.
#pragma once
#include "nabla/kernels/conv.h"

namespace nabla::kernels {

// True where the direct kernels run: groups 1, at most 4 input channels, stride 1, no dilation,
// kernel width at most 7, in a build with AVX2.
bool direct_conv_applies(const ConvShape& s);

void direct_conv_forward(const ConvShape& s, const float* x, const float* weight, const float* bias, float* y);
// Weight and bias gradients; dbias may be null.
void direct_conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dweight, float* dbias);

}  // namespace nabla::kernels
