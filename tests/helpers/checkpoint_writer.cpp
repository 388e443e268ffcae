// Test helper: saves checkpoint k = 1, 2, 3, ... into DIR forever (every tensor and the state carry
// k), printing "ready" once the first is complete. crash_safety_test kills it at random moments.
#include <cstdio>

#include "nabla/io/checkpoint.h"
#include "nabla/nabla.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: checkpoint_writer DIR\n");
    return 2;
  }
  using namespace nabla;
  for (int64_t k = 1;; ++k) {
    io::Checkpoint c;
    c.config = {{"k", k}};
    c.model = {{"weight", full({256, 64}, double(k))}, {"bias", full({64}, double(k))}};
    c.optimizer = {{"exp_avg", full({256, 64}, -double(k))}};
    c.state = {{"epoch", k}, {"step", k * 10}};
    io::save_checkpoint(argv[1], c);
    if (k == 1) {
      std::printf("ready\n");
      std::fflush(stdout);
    }
  }
}
