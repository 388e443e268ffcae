// Seeded N(0, 1) floats for kernel tests that work on raw buffers rather than tensors.
#pragma once
#include <random>
#include <vector>

namespace nabla::test_support {

inline std::vector<float> normal_floats(size_t count, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(count);
  for (float& e : v) e = dist(gen);
  return v;
}

}  // namespace nabla::test_support
