// How far nabla's outputs lie from transformers' golden ones: the largest |a - b| / max(1, |b|).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "nabla/core/tensor.h"

namespace nabla::test_support {

inline double max_relative_error(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = ac.data<float>()[i], y = bc.data<float>()[i];
    worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
  }
  return worst;
}

}  // namespace nabla::test_support
