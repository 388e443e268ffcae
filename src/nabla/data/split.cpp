// split_indices: one seeded shuffle cut into consecutive parts.
#include "nabla/data/split.h"

#include <algorithm>
#include <cmath>

#include "nabla/core/error.h"
#include "nabla/core/random.h"

namespace nabla::data {

std::vector<std::vector<int64_t>> split_indices(int64_t n, const std::vector<double>& fractions, uint64_t seed) {
  NABLA_CHECK(n >= 0, "split_indices: n must be non-negative, got ", n);
  NABLA_CHECK(!fractions.empty(), "split_indices: give at least one fraction, e.g. {0.8, 0.1, 0.1}");
  double total = 0;
  for (double f : fractions) {
    NABLA_CHECK(std::isfinite(f) && f >= 0 && f <= 1, "split_indices: fractions must be in [0, 1], got ", f);
    total += f;
  }
  NABLA_CHECK(total <= 1 + 1e-9, "split_indices: fractions sum to ", total, ", more than 1");
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(gen.randint(0, i + 1))]);
  // The remainder goes to the last part asked for: a zero fraction (no test set) stays empty.
  size_t last = fractions.size() - 1;
  while (last > 0 && fractions[last] == 0) --last;
  std::vector<std::vector<int64_t>> parts;
  int64_t at = 0;
  for (size_t k = 0; k < fractions.size(); ++k) {
    int64_t count = int64_t(std::floor(fractions[k] * double(n) + 1e-9));
    const bool last_takes_rest = k == last && std::abs(total - 1) <= 1e-9;
    if (last_takes_rest || at + count > n) count = n - at;
    std::vector<int64_t> part(order.begin() + at, order.begin() + at + count);
    std::sort(part.begin(), part.end());
    parts.push_back(std::move(part));
    at += count;
  }
  return parts;
}

int64_t keras_training_count(int64_t n, double held_out) {
  return std::min(n, std::max<int64_t>(0, int64_t(std::floor(double(n) * (1.0 - held_out)))));
}

}  // namespace nabla::data
