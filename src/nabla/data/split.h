// Deterministic random splits of n samples (train / validation / test) from a seed.
#pragma once
#include <cstdint>
#include <vector>

namespace nabla::data {

// Shuffles 0..n-1 with `seed` and cuts it into parts of floor(fraction * n) samples, in order.
// When the fractions sum to 1 the last part with a nonzero fraction also takes the rounding
// remainder, so every sample is used exactly once and a zero fraction gives an empty part; a
// smaller sum leaves the rest out. Each part is sorted ascending (corpus order;
// the DataLoader shuffles). The same (n, fractions, seed) always gives the same parts.
std::vector<std::vector<int64_t>> split_indices(int64_t n, const std::vector<double>& fractions, uint64_t seed);

// Keras' validation_split: the first floor(n * (1 - held_out)) samples train, the rest are held
// out (so 0.29 of 100 holds out 29, not 28).
int64_t keras_training_count(int64_t n, double held_out);

}  // namespace nabla::data
