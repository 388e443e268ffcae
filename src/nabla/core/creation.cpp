#include "nabla/core/creation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace nabla {
namespace {

template <typename F>
Tensor generate_f32(const Shape& shape, F&& next) {
  Tensor t = Tensor::empty(shape, DType::f32);
  float* p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = next();
  return t;
}

// One thread: a fill is bound by memory bandwidth, which a 2-core machine's second thread hardly
// adds to, and core stays free of the kernels' threading.
void fill_contiguous(const Tensor& t, double value) {
  dispatch_dtype(t.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    std::fill_n(t.data<T>(), t.numel(), from_double<T>(value));
  });
}

Shape shape_or_flat(const Shape& shape, size_t count, const char* op) {
  if (shape.empty() && count != 1) return Shape{int64_t(count)};
  NABLA_CHECK(size_t(shape.numel()) == count, op, ": ", count, " values do not fill shape ", shape);
  return shape;
}

}  // namespace

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  fill_contiguous(t, value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor scalar_tensor(double value, DType dtype) { return full(Shape{}, value, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
  NABLA_CHECK(step != 0, "arange: step must be non-zero");
  int64_t n = std::max<int64_t>(0, int64_t(std::ceil((end - start) / step)));
  Tensor t = Tensor::empty({n}, dtype);
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = from_double<T>(start + double(i) * step);
  });
  return t;
}
Tensor arange(int64_t end, DType dtype) { return arange(0.0, double(end), 1.0, dtype); }

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  NABLA_CHECK(steps >= 0, "linspace: steps must be non-negative, got ", steps);
  Tensor t = Tensor::empty({steps}, dtype);
  double delta = steps > 1 ? (end - start) / double(steps - 1) : 0.0;
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* p = t.data<T>();
    for (int64_t i = 0; i < steps; ++i) p[i] = from_double<T>(i == steps - 1 ? end : start + double(i) * delta);
  });
  return t;
}

Tensor eye(int64_t n, DType dtype) {
  Tensor t = zeros({n, n}, dtype);
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (int64_t i = 0; i < n; ++i) t.data<T>()[i * n + i] = from_double<T>(1.0);
  });
  return t;
}

Tensor rand(const Shape& shape, Generator& gen) {
  return generate_f32(shape, [&] { return gen.uniform(); });
}
Tensor randn(const Shape& shape, Generator& gen) {
  return generate_f32(shape, [&] { return gen.normal(); });
}
Tensor uniform(const Shape& shape, double low, double high, Generator& gen) {
  return generate_f32(shape, [&] { return float(low + (high - low) * gen.uniform_double()); });
}
Tensor normal(const Shape& shape, double mean, double std, Generator& gen) {
  return generate_f32(shape, [&] { return float(mean + std * gen.normal()); });
}
Tensor bernoulli(const Shape& shape, double p, Generator& gen) {
  NABLA_CHECK(p >= 0 && p <= 1, "bernoulli: probability must be in [0, 1], got ", p);
  return generate_f32(shape, [&] { return gen.uniform_double() < p ? 1.0f : 0.0f; });
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen) {
  NABLA_CHECK(low < high, "randint: empty range [", low, ", ", high, ")");
  Tensor t = Tensor::empty(shape, DType::i64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.randint(low, high);
  return t;
}

Tensor randperm(int64_t n, Generator& gen) {
  Tensor t = arange(n);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[gen.randint(0, i + 1)]);  // Fisher-Yates
  return t;
}

Tensor tensor(const std::vector<float>& values, const Shape& shape) {
  Tensor t = Tensor::empty(shape_or_flat(shape, values.size(), "tensor"), DType::f32);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}
Tensor tensor(std::initializer_list<float> values, const Shape& shape) {
  return tensor(std::vector<float>(values), shape);
}
Tensor tensor_i64(const std::vector<int64_t>& values, const Shape& shape) {
  Tensor t = Tensor::empty(shape_or_flat(shape, values.size(), "tensor_i64"), DType::i64);
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}
Tensor from_blob(const void* data, const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  if (t.numel()) std::memcpy(t.raw_data(), data, size_t(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }
Tensor randn_like(const Tensor& t, Generator& gen) { return randn(t.shape(), gen); }

}  // namespace nabla
