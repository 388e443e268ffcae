#include "nabla/core/random.h"

#include <cmath>
#include <cstring>

namespace nabla {
namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

void Generator::seed_(uint64_t seed) {
  for (auto& w : s_) w = splitmix64(seed);
  has_spare_normal_ = false;
}

uint64_t Generator::next_u64() {  // xoshiro256**
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

float Generator::uniform() { return float(next_u64() >> 40) * (1.0f / 16777216.0f); }
double Generator::uniform_double() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

float Generator::normal() {  // Box-Muller, both values used
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u1 = uniform_double(), u2 = uniform_double();
  if (u1 < 1e-300) u1 = 1e-300;
  double r = std::sqrt(-2.0 * std::log(u1)), theta = 2.0 * M_PI * u2;
  spare_normal_ = float(r * std::sin(theta));
  has_spare_normal_ = true;
  return float(r * std::cos(theta));
}

int64_t Generator::randint(int64_t low, int64_t high) {
  uint64_t range = uint64_t(high - low);
  // Rejection sampling avoids modulo bias.
  uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return low + int64_t(x % range);
}

Generator::State Generator::state() const {
  uint32_t spare_bits;
  std::memcpy(&spare_bits, &spare_normal_, 4);
  return {s_[0], s_[1], s_[2], s_[3], (uint64_t(has_spare_normal_) << 32) | spare_bits};
}

void Generator::set_state(const State& state) {
  for (int i = 0; i < 4; ++i) s_[i] = state[i];
  has_spare_normal_ = (state[4] >> 32) != 0;
  uint32_t spare_bits = uint32_t(state[4]);
  std::memcpy(&spare_normal_, &spare_bits, 4);
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().seed_(seed); }

}  // namespace nabla
