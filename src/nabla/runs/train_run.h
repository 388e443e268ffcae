// train_run: a validated run config becomes a trained run directory. Everything the config and
// data can tell is checked before the directory is touched; a directory that holds a run is never
// trained into without --resume or --overwrite (see run_directory.h). A run directory holds
//   config.json          {"config": the resolved config, "tokenizer": ..., "data_shape": ..., "task": ...}
//   checkpoints/best     the weights with the best validation metric (a checkpoint directory)
//   checkpoints/last     the latest epoch, with optimizer state and RNG, for --resume
//   history.csv          one row per epoch;  steps.csv  one row per optimizer step
//   results.json         test metrics after training;  log.txt  what the run printed
// The CLI (apps/nabla) is a thin layer over the runs layer.
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "nabla/data/dataset.h"
#include "nabla/io/config.h"
#include "nabla/runs/run_directory.h"
#include "nabla/train/model.h"

namespace nabla::runs {

struct TrainRunOptions {
  std::string out_dir;                        // the run directory (created)
  bool resume = false;                        // continue out_dir from checkpoints/last with its saved config
  bool overwrite = false;                     // a new run into a directory holding one first moves the old run aside
  std::vector<std::string> resume_overrides;  // "key.path=value" applied to the saved config (more epochs)
  bool stop_on_signals = false;               // SIGINT/SIGTERM: finish the step, save checkpoints/last, return
  int verbose = 1;                            // progress bars (1), one line per epoch (2), silent (0)
};

struct TrainRunResult {
  train::History history;
  train::Logs test;                               // empty without a test set
  std::shared_ptr<const data::Dataset> test_set;  // null without one
  std::string run_dir;
  int stop_signal = 0;                 // the signal that interrupted the run (0: it ran to the end)
  train::EpochProgress stopped_at;     // where it stopped (checkpoints/last holds it)
  Tensor predict_inputs, predictions;  // data.predict (inline data) and the model's outputs for it
  // The run directory, locked while this result lives (rank 0; null on the other ranks), so a
  // caller can finish writing into it (log, plots) before another process may claim it.
  std::shared_ptr<RunDirectory> directory;
};

// Trains `config` (a parsed JSON run config). Unknown keys and bad values fail before any work.
TrainRunResult train_run(const io::json& config, const TrainRunOptions& options, std::ostream& log);

}  // namespace nabla::runs
