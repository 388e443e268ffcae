#include "nabla/kernels/elementwise.h"

#include "nabla/core/profiler.h"
#include "nabla/core/views.h"

namespace nabla::kernels {

Tensor add(const Tensor& a, const Tensor& b) {
  NABLA_PROFILE_OP("add");
  NABLA_CHECK(a.dtype() == DType::f32 && b.dtype() == DType::f32, "add: expects f32 tensors, got ",
              dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {  // the common case, no views
    Tensor out = Tensor::empty(a.shape());
    map_binary(a.data<float>(), b.data<float>(), out.data<float>(), out.numel(),
               [](float x, float y) { return x + y; });
    return out;
  }
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "add");
  Tensor out = Tensor::empty(shape);
  map_binary_strided<float, float, float>(views::expand(a, shape), views::expand(b, shape), out,
                                          [](float x, float y) { return x + y; });
  return out;
}

void axpy(float a, const float* x, float* y, int64_t n) {
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace nabla::kernels
