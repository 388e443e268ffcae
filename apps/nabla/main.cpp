// `nabla`: train, evaluate and sample the library's models from JSON configs.
#include <csignal>
#include <iostream>

#include "commands.h"
#include "nabla/core/error.h"
#include "nabla/dist/process_group.h"
#include "nabla/kernels/parallel.h"

// Under LeakSanitizer (make test-asan): PLplot's driver loader (libltdl) and fontconfig keep small
// allocations for the process's lifetime by design; they are not nabla's leaks.
extern "C" const char* __lsan_default_suppressions() { return "leak:libltdl.so\nleak:libfontconfig.so\n"; }

int main(int argc, char** argv) {
  CLI::App app;
  nabla::cli::build_app(app);
  // A write past the file-size limit (ulimit -f) then fails with EFBIG, which nabla reports and
  // cleans up after, instead of the signal killing the process mid-save.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    nabla::num_threads();  // a bad NABLA_NUM_THREADS fails now, not halfway through a command
    if (nabla::dist::launched_by_mpirun()) nabla::dist::init(&argc, &argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (nabla::dist::rank() != 0) return e.get_exit_code();  // every rank parses alike: rank 0 reports
    return app.exit(e);
  } catch (const std::exception& e) {  // nabla::Error, or a library outside nabla (filesystem, JSON)
    // An error on one rank of a job ends them all now, rather than leaving the others waiting
    // in a collective.
    std::cerr << "nabla: " << nabla::dist::rank_prefix() << "error: " << e.what() << "\n";
    nabla::dist::abort(1);
    return 1;
  }
  return 0;
}
