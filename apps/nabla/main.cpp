// `nabla`: train, evaluate and sample the library's models from JSON configs.
#include <iostream>

#include "commands.h"
#include "nabla/core/error.h"
#include "nabla/dist/process_group.h"
#include "nabla/kernels/parallel.h"
#include "nabla/ops/autocast.h"

// Under LeakSanitizer (make test-asan): PLplot's driver loader (libltdl) and fontconfig keep small
// allocations for the process's lifetime by design; they are not nabla's leaks.
extern "C" const char* __lsan_default_suppressions() { return "leak:libltdl.so\nleak:libfontconfig.so\n"; }

namespace nabla::cli {

void add_threads_option(CLI::App& command, int& threads) {
  command.add_option("--threads", threads, "threads for the kernels (default: all cores, or NABLA_NUM_THREADS)")
      ->check(CLI::Range(1, 1024));
}

void apply_threads(int threads) {
  if (threads > 0) nabla::set_num_threads(threads);
}

void add_precision_option(CLI::App& command, std::string& precision) {
  command.add_option("--precision", precision,
                     "fp32 (default) or bf16: bf16 matrix inputs with f32 accumulation and f32 master weights");
}

void apply_precision(const std::string& precision, nlohmann::json& config) {
  if (precision.empty()) return;
  config["training"]["precision"] = nabla::parse_precision(precision) == DType::bf16 ? "bf16" : "fp32";
}

}  // namespace nabla::cli

int main(int argc, char** argv) {
  CLI::App app{
      "nabla: define, train, evaluate and run neural networks.\n"
      "  nabla train configs/fashion_cnn.json --out runs/cnn\n"
      "  nabla eval runs/cnn;  nabla plot runs/cnn;  nabla generate runs/gpt --prompt \"And God\"",
      "nabla"};
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  nabla::cli::add_train(app);
  nabla::cli::add_eval(app);
  nabla::cli::add_predict(app);
  nabla::cli::add_generate(app);
  nabla::cli::add_summary(app);
  nabla::cli::add_plot(app);
  nabla::cli::add_info(app);
  nabla::cli::add_bench(app);
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
