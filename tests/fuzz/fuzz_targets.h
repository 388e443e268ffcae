// One fuzz target per parser of outside input. Each takes arbitrary bytes, feeds them to nabla the
// way a user's file or argument would arrive, and returns normally when nabla either accepts them
// or rejects them with a nabla::Error; anything else (another exception, a crash, a sanitizer
// report, an allocation past the fuzzer's limit) is a finding. The libFuzzer programs (make fuzz)
// and the corpus replay test (make test) share these functions.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nabla::fuzz {

using Target = void (*)(const uint8_t* data, size_t size);

struct NamedTarget {
  const char* name;  // also the corpus folder: tests/fuzz/corpus/<name>
  Target run;
};

const std::vector<NamedTarget>& targets();

// Runs one input through a target: nabla::Error is the expected way to refuse; any other
// exception aborts with its message (a finding).
void run_one(Target target, const uint8_t* data, size_t size);

}  // namespace nabla::fuzz
