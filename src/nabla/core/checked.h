// Sizes computed from outside input (file headers, configs, command lines), checked for overflow
// before anything is allocated or indexed with them: a crafted header must give an error, never
// a wrapped size.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>

#include "nabla/core/error.h"

namespace nabla {

// a * b for non-negative sizes, or an error naming `what` when the product overflows int64 or
// exceeds `limit`.
inline int64_t checked_mul(int64_t a, int64_t b, const std::string& what, int64_t limit = INT64_MAX) {
  NABLA_CHECK(a >= 0 && b >= 0, what, ": negative size ", a < 0 ? a : b);
  int64_t product = 0;
  NABLA_CHECK(!__builtin_mul_overflow(a, b, &product) && product <= limit, what, ": ", a, " x ", b,
              " is too large (the limit is ", limit, ")");
  return product;
}

// The product of several sizes, checked as checked_mul does.
inline int64_t checked_product(std::initializer_list<int64_t> factors, const std::string& what,
                               int64_t limit = INT64_MAX) {
  int64_t product = 1;
  for (int64_t f : factors) product = checked_mul(product, f, what, limit);
  return product;
}

// a + b for non-negative sizes, checked the same way.
inline int64_t checked_add(int64_t a, int64_t b, const std::string& what, int64_t limit = INT64_MAX) {
  NABLA_CHECK(a >= 0 && b >= 0, what, ": negative size ", a < 0 ? a : b);
  int64_t sum = 0;
  NABLA_CHECK(!__builtin_add_overflow(a, b, &sum) && sum <= limit, what, ": ", a, " + ", b,
              " is too large (the limit is ", limit, ")");
  return sum;
}

}  // namespace nabla
