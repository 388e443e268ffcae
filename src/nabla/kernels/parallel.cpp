#include "nabla/kernels/parallel.h"

#include <omp.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "nabla/core/error.h"

namespace nabla {
namespace {

int threads_from_environment() {
  const char* value = std::getenv("NABLA_NUM_THREADS");
  if (!value || !*value) return omp_get_num_procs();
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(value, &end, 10);
  NABLA_CHECK(end != value && *end == '\0' && errno == 0 && n >= 1, "NABLA_NUM_THREADS=\"", value,
              "\" is not a positive thread count; set it to a number such as 1 or ", omp_get_num_procs(),
              ", or unset it to use all cores");
  NABLA_CHECK(n <= kMaxThreads, "NABLA_NUM_THREADS=", value, " is more than the ", kMaxThreads,
              " threads nabla runs (this machine has ", omp_get_num_procs(), " cores); use at most ", kMaxThreads);
  return int(n);
}

int& configured_threads() {
  static int n = [] {
    int threads = threads_from_environment();
    omp_set_num_threads(threads);
    return threads;
  }();
  return n;
}

// Applied when the library loads, so OpenMP loops that run before anything asks for the count
// (a program using tensors alone) already use NABLA_NUM_THREADS. A bad value is reported by the
// first num_threads() call instead: an exception cannot leave a static initialiser.
[[maybe_unused]] const bool applied_at_load = [] {
  try {
    configured_threads();
  } catch (const Error&) {
  }
  return true;
}();

}  // namespace

int num_threads() { return configured_threads(); }

void set_num_threads(int n) {
  NABLA_CHECK(n >= 1, "set_num_threads: need at least one thread, got ", n);
  configured_threads() = n;
  omp_set_num_threads(n);
}

}  // namespace nabla
