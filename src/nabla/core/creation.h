// Tensor factories: constant fills, ranges, random draws from a seeded generator, and copies
// of C++ data.
#pragma once
#include <vector>

#include "nabla/core/random.h"
#include "nabla/core/tensor.h"

namespace nabla {

Tensor zeros(const Shape& shape, DType dtype = DType::f32);
Tensor ones(const Shape& shape, DType dtype = DType::f32);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
Tensor scalar_tensor(double value, DType dtype = DType::f32);  // 0-dimensional
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::f32);
Tensor arange(int64_t end, DType dtype = DType::i64);
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::f32);
Tensor eye(int64_t n, DType dtype = DType::f32);

Tensor rand(const Shape& shape, Generator& gen = default_generator());   // U[0, 1)
Tensor randn(const Shape& shape, Generator& gen = default_generator());  // N(0, 1)
Tensor uniform(const Shape& shape, double low, double high, Generator& gen = default_generator());
Tensor normal(const Shape& shape, double mean, double std, Generator& gen = default_generator());
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen = default_generator());
Tensor bernoulli(const Shape& shape, double p, Generator& gen = default_generator());  // f32 0/1
Tensor randperm(int64_t n, Generator& gen = default_generator());

// Copies of C++ data; the shape defaults to 1-D.
Tensor tensor(const std::vector<float>& values, const Shape& shape = {});
Tensor tensor(std::initializer_list<float> values, const Shape& shape = {});
Tensor tensor_i64(const std::vector<int64_t>& values, const Shape& shape = {});
Tensor from_blob(const void* data, const Shape& shape, DType dtype);  // copies

Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor randn_like(const Tensor& t, Generator& gen = default_generator());

}  // namespace nabla
