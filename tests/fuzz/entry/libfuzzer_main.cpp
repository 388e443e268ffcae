// The libFuzzer entry point of one fuzz target (NABLA_FUZZ_TARGET names it; see fuzz_targets.h).
#include <cstring>

#include "../fuzz_targets.h"
#include "nabla/kernels/parallel.h"

namespace {
nabla::fuzz::Target chosen() {
  for (const auto& t : nabla::fuzz::targets())
    if (std::strcmp(t.name, NABLA_FUZZ_TARGET) == 0) return t.run;
  __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  nabla::set_num_threads(1);  // one input at a time, no thread team to spin up per call
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nabla::fuzz::Target target = chosen();
  nabla::fuzz::run_one(target, data, size);
  return 0;
}
