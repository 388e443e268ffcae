// Seeded random numbers. One global generator drives init, dropout, shuffling and sampling,
// so the same seed (and thread count) reproduces a run; its state can be saved and restored.
#pragma once
#include <array>
#include <cstdint>

namespace nabla {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x6e61626c61ULL) { seed_(seed); }
  void seed_(uint64_t seed);

  uint64_t next_u64();
  float uniform();                             // [0, 1)
  double uniform_double();                     // [0, 1)
  float normal();                              // mean 0, std 1
  int64_t randint(int64_t low, int64_t high);  // [low, high)

  using State = std::array<uint64_t, 5>;  // xoshiro256** words + a cached normal flag/value
  State state() const;
  void set_state(const State& state);

 private:
  uint64_t s_[4];
  bool has_spare_normal_ = false;
  float spare_normal_ = 0;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace nabla
