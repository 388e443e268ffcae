// nabla bench CONFIG.json [--mode train|infer|generate] [--batch N] [--steps N] ...: how fast a
// config's model trains or runs here. nabla bench --peak: the machine's fp32 FMA peak.
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "nabla/core/error.h"
#include "nabla/dist/process_group.h"
#include "nabla/io/config.h"
#include "nabla/kernels/peak_flops.h"
#include "nabla/runs/runs.h"

namespace nabla::cli {

namespace {

struct BenchArgs {
  std::string config;
  std::vector<std::string> sets;
  std::string precision;
  runs::BenchOptions options;
  int threads = 0;
  bool json = false, peak = false;
};

void print(const io::json& r) {
  std::cout << std::setprecision(4) << r["name"].get<std::string>() << " " << r["mode"].get<std::string>() << ": batch "
            << r["batch"]
            << (r["ranks"].get<int>() > 1 ? " per rank x " + std::to_string(r["ranks"].get<int>()) + " ranks" : "")
            << ", " << r["threads"] << " thread(s), median " << r["median_s"].get<double>() * 1e3 << " ms ("
            << r["min_s"].get<double>() * 1e3 << "-" << r["max_s"].get<double>() * 1e3 << "), "
            << r["samples_per_s"].get<double>() << " samples/s";
  if (r.contains("tokens_per_s")) std::cout << ", " << r["tokens_per_s"].get<double>() << " tokens/s";
  std::cout << ", peak resident " << r["peak_rss_mb"].get<double>() << " MB";
  if (r.contains("comm_wait_s_per_step"))
    std::cout << ", all-reduce wait " << r["comm_wait_s_per_step"].get<double>() * 1e3 << " ms/step";
  if (r["precision"] == "bf16") std::cout << (r["bf16_native"].get<bool>() ? ", bf16" : ", bf16 (emulated)");
  std::cout << "\n";
}

void run_bench(const BenchArgs& a) {
  apply_threads(a.threads);
  if (a.peak) {
    NABLA_CHECK(a.config.empty(), "bench --peak measures the machine; leave out CONFIG.json");
    const double gflops = kernels::measure_fp32_peak_gflops(1.0);
    if (a.json)
      std::cout << io::json{{"peak_fp32_gflops", gflops}}.dump() << "\n";
    else
      std::cout << "fp32 FMA peak: " << std::setprecision(4) << gflops << " GFLOP/s\n";
    return;
  }
  NABLA_CHECK(!a.config.empty(), "bench: give a CONFIG.json (or --peak)");
  io::json config = io::read_json_file(a.config);
  for (const std::string& s : a.sets) io::apply_override(config, s);
  apply_precision(a.precision, config);
  io::json result = runs::bench_run(config, a.options);
  if (dist::rank() != 0) return;  // under mpirun: one report for the job
  if (a.json)
    std::cout << result.dump() << "\n";
  else
    print(result);
}

}  // namespace

void add_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "measure how fast a config's model trains, infers or generates");
  cmd->add_option("config", args->config, "the run config (see configs/)")->check(CLI::ExistingFile);
  cmd->add_option("--set", args->sets, "override a config key, e.g. --set training.batch_size=128 (repeatable)");
  cmd->add_option("--mode", args->options.mode, "train (default), infer or generate")
      ->check(CLI::IsMember({"train", "infer", "generate"}));
  cmd->add_option("--batch", args->options.batch, "batch size (default: the config's training.batch_size)")
      ->check(at_least(1));
  cmd->add_option("--steps", args->options.steps, "timed repetitions (default 10)")->check(at_least(1));
  cmd->add_option("--warmup", args->options.warmup, "untimed repetitions first (default 3)")->check(at_least(0));
  cmd->add_option("--prompt-tokens", args->options.prompt, "generate: prompt tokens per row, from the data (default 1)")
      ->check(at_least(1));
  cmd->add_option("--top-p", args->options.top_p, "generate: nucleus sampling at temperature 1 (default 0: greedy)")
      ->check(between(0, 1));
  cmd->add_option("--tokens", args->options.tokens, "generate: new tokens per row and repetition (default 256)")
      ->check(at_least(1));
  cmd->add_flag("--peak", args->peak, "measure the machine's fp32 FMA peak (GFLOP/s) instead");
  cmd->add_flag("--json", args->json, "print one JSON line (for scripts)");
  add_threads_option(*cmd, args->threads);
  add_precision_option(*cmd, args->precision);
  cmd->callback([args] { run_action([&] { run_bench(*args); }); });
}

}  // namespace nabla::cli
