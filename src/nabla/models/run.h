// Runs: training a config into a run directory, and loading a run back to evaluate, predict or
// generate. A run directory holds
//   config.json          {"config": the resolved config, "tokenizer": ..., "data_shape": ..., "task": ...}
//   checkpoints/best     the weights with the best validation metric (a checkpoint directory)
//   checkpoints/last     the latest epoch, with optimizer state and RNG, for --resume
//   history.csv          one row per epoch;  steps.csv  one row per optimizer step
//   results.json         test metrics after training;  log.txt  what the run printed
// The CLI (apps/nabla) is a thin layer over these calls.
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "nabla/data/tokenizer.h"
#include "nabla/io/config.h"
#include "nabla/models/registry.h"
#include "nabla/models/task_data.h"
#include "nabla/train/model.h"

namespace nabla::models {

struct TrainRunOptions {
  std::string out_dir;  // the run directory (created)
  bool resume = false;  // continue out_dir from checkpoints/last with its saved config
  std::vector<std::string> resume_overrides;  // "key.path=value" applied to the saved config (more epochs)
  bool stop_on_signals = false;  // SIGINT/SIGTERM: finish the step, save checkpoints/last, return
  int verbose = 1;      // progress bars (1), one line per epoch (2), silent (0)
};

struct TrainRunResult {
  train::History history;
  train::Logs test;  // empty without a test set
  std::shared_ptr<const data::Dataset> test_set;  // null without one
  std::string run_dir;
  int stop_signal = 0;  // the signal that interrupted the run (0: it ran to the end)
  train::EpochProgress stopped_at;  // where it stopped (checkpoints/last holds it)
};

// Trains `config` (a parsed JSON run config). Unknown keys and bad values fail before any work.
TrainRunResult train_run(const io::json& config, const TrainRunOptions& options, std::ostream& log);

// A trained run, ready to use.
struct LoadedRun {
  io::json info;  // config.json
  BuiltModel model;
  std::shared_ptr<const data::Tokenizer> tokenizer;  // text runs only
  std::vector<std::string> class_names;
  std::unique_ptr<train::Model> trainer;  // compiled with the run's loss and metrics
  std::string checkpoint;                 // which checkpoint was loaded
};

// Loads config.json and the best checkpoint (else the last). Errors name the run directory and
// what is missing or from a different model.
LoadedRun load_run(const std::string& run_dir);
// The test (or validation) set of a loaded run, rebuilt from its config with its tokenizer.
TaskData load_run_data(const LoadedRun& run);

// Builds (without training) the model of a config or run directory: for `nabla summary`.
BuiltModel build_for_summary(const std::string& config_or_run, TaskData* data_out = nullptr);

struct BenchOptions {
  std::string mode = "train";  // train: optimizer steps; infer: eval forward; generate: KV-cached sampling
  int64_t batch = 0;           // 0 = the config's training.batch_size (generate always uses batch 1)
  int steps = 10, warmup = 3;  // timed and untimed repetitions
  int64_t tokens = 256;        // generate: new tokens per repetition (greedy, from a one-token prompt)
};

// Times the config's model on one real batch of its data, reused every step: {"median_s",
// "min_s", "max_s", "samples_per_s", "tokens_per_s" (token inputs), "peak_rss_mb", "parameters",
// "train_flops_per_token" (GPT), ...}. For `nabla bench` and bench/workloads.py.
io::json bench_run(const io::json& config, const BenchOptions& options);

std::string loss_for(Task task);
std::vector<std::string> metrics_for(Task task);

}  // namespace nabla::models
