// nabla train CONFIG.json [--set key=value ...] [--out RUN_DIR] [--resume RUN_DIR]; under
// `mpirun -np N` it trains data-parallel on N ranks.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "nabla/core/error.h"
#include "nabla/dist/process_group.h"
#include "nabla/io/config.h"
#include "nabla/ops/autocast.h"
#include "nabla/runs/runs.h"
#include "run_output.h"

namespace nabla::cli {

namespace {

struct TrainArgs {
  std::string config, out, resume, precision;
  std::vector<std::string> sets;
  int threads = 0, verbose = 1;
  int64_t seed = -1, global_batch = 0;
  bool out_given = false, overwrite = false;
};

void run_train(const TrainArgs& a) {
  apply_threads(a.threads);
  NABLA_CHECK(!a.config.empty() || !a.resume.empty(), "train: give a CONFIG.json, or --resume RUN_DIR");
  io::json config;
  runs::TrainRunOptions options;
  options.verbose = a.verbose;
  // Overrides of the config (a new run's, or the saved one of a resumed run).
  std::vector<std::string> overrides = a.sets;
  if (!a.precision.empty()) {
    parse_precision(a.precision);  // an unsupported value fails here, naming the choices
    overrides.push_back("training.precision=" +
                        std::string(parse_precision(a.precision) == DType::bf16 ? "bf16" : "fp32"));
  }
  if (a.global_batch > 0) {  // the samples of one step over all ranks, kept as ranks change
    const int ranks = dist::world_size();
    NABLA_CHECK(a.global_batch % ranks == 0, "train: --global-batch ", a.global_batch, " does not divide among ", ranks,
                " ranks; use a multiple of ", ranks);
    overrides.push_back("training.batch_size=" + std::to_string(a.global_batch / ranks));
  }
  if (a.seed >= 0) overrides.push_back("seed=" + std::to_string(a.seed));
  if (!a.resume.empty()) {
    NABLA_CHECK(a.config.empty(), "train: --resume continues the run's own config; leave out CONFIG.json");
    options.out_dir = a.resume;
    options.resume = true;
    options.resume_overrides = overrides;  // e.g. --set training.epochs=N to train longer
  } else {
    config = io::read_json_file(a.config);
    for (const std::string& s : overrides) io::apply_override(config, s);
    NABLA_CHECK(!a.out_given || !a.out.empty(), "train: --out is empty; give the run directory, e.g. --out runs/mine");
    NABLA_CHECK(config.is_object(), a.config, ": a run config is a JSON object ({\"data\": ..., \"model\": ...})");
    const io::json& name = config.contains("name") ? config["name"] : io::json();
    options.out_dir = a.out_given ? a.out
                                  : "runs/" + (name.is_string() ? name.get<std::string>()
                                                                : std::filesystem::path(a.config).stem().string());
    options.overwrite = a.overwrite;
  }
  NABLA_CHECK(!(a.overwrite && !a.resume.empty()),
              "train: --overwrite replaces a run and --resume continues one; "
              "give one of them");
  options.stop_on_signals = true;  // Ctrl-C or SIGTERM: finish the step, save, exit
  // train_run checks everything and claims (and locks) the directory before it writes there.
  runs::TrainRunResult result = runs::train_run(config, options, std::cout);
  std::ofstream log_file;
  if (dist::rank() == 0) log_file.open(options.out_dir + "/log.txt", options.resume ? std::ios::app : std::ios::trunc);
  if (result.stop_signal) {
    if (dist::rank() == 0) {
      std::ostringstream note;
      note << "stopped by signal " << result.stop_signal << " at epoch " << result.stopped_at.epoch + 1 << ", step "
           << result.stopped_at.step << "; saved " << options.out_dir
           << "/checkpoints/last. Continue with: nabla train "
           << "--resume " << options.out_dir << "\n";
      std::cout << note.str();
      log_file << note.str();
    }
    std::cout.flush();
    std::exit(128 + result.stop_signal);  // the shell's convention for "ended by that signal"
  }
  if (dist::rank() != 0) return;  // rank 0 reports, plots and samples for the whole job

  std::ostringstream report;
  report << "run directory: " << result.run_dir << "\n";
  if (!result.test.empty()) {
    report << "test:";
    for (auto& [k, v] : result.test) report << "  " << k << " " << v;
    report << "\n";
  }
  if (result.predictions.defined()) {  // the config's own new inputs (data.predict)
    const Tensor in = result.predict_inputs, out = result.predictions.reshape({in.size(0), -1});
    for (int64_t i = 0; i < in.size(0); ++i) {
      report << "prediction for [";
      const std::vector<float> x = in.select(0, i).to_vector<float>(), y = out.select(0, i).to_vector<float>();
      for (size_t j = 0; j < x.size(); ++j) report << (j ? ", " : "") << x[j];
      report << "]:";
      for (float v : y) report << " " << std::setprecision(6) << v;
      report << "\n";
    }
  }
  write_history_plots(result.run_dir, report);
  runs::LoadedRun run = runs::load_run(result.run_dir);
  if (result.test_set) write_confusion_matrix(run, *result.test_set, result.run_dir, report);
  std::cout << report.str();
  log_file << report.str();
  for (size_t e = 0; e < result.history.epochs.size(); ++e) {
    log_file << "epoch " << result.history.epochs[e];
    for (auto& [k, values] : result.history.history) log_file << " " << k << "=" << values[e];
    log_file << "\n";
  }
  if (run.model.task == models::Task::language_model) {
    const io::json& g = run.info["config"]["generate"];
    std::cout << "sample:\n";
    std::ostringstream sample;
    models::SamplingOptions s{.temperature = g["temperature"].get<double>(),
                              .top_k = g["top_k"].get<int64_t>(),
                              .top_p = g["top_p"].get<double>()};
    stream_sample(run, g["prompt"].get<std::string>(), std::min<int64_t>(g["tokens"].get<int64_t>(), 300), s, 1,
                  sample);
    std::cout << sample.str();
    log_file << "sample:\n" << sample.str();
  }
}

}  // namespace

void add_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "train a model from a JSON config into a run directory");
  cmd->add_option("config", args->config, "the run config (see configs/)")->check(CLI::ExistingFile);
  cmd->add_option("--set", args->sets, "override a config key, e.g. --set training.epochs=3 (repeatable)");
  cmd->add_option("--out", args->out, "run directory (default: runs/<config name>); it must not hold a run already")
      ->each([args](const std::string&) { args->out_given = true; });
  cmd->add_flag("--overwrite", args->overwrite,
                "train into a directory that holds a run: the old run is moved to DIR.replaced-N first");
  cmd->add_option("--resume", args->resume, "continue an interrupted run from its last checkpoint");
  cmd->add_option("--seed", args->seed, "override the config's seed")->check(at_least(0));
  cmd->add_option("--global-batch", args->global_batch,
                  "samples per step over all MPI ranks (sets training.batch_size to it / ranks); without it each "
                  "rank takes training.batch_size, so a step takes batch_size x ranks")
      ->check(at_least(1));
  cmd->add_option("--verbose", args->verbose, "0 silent, 1 progress bar, 2 one line per epoch")->check(between(0, 2));
  add_threads_option(*cmd, args->threads);
  add_precision_option(*cmd, args->precision);
  cmd->callback([args] { run_action([&] { run_train(*args); }); });
}

}  // namespace nabla::cli
