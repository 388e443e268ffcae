// load_run: a run directory back into a compiled model with its tokenizer, for eval, predict,
// generate, info and summary.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nabla/data/tokenizer.h"
#include "nabla/io/config.h"
#include "nabla/models/registry.h"
#include "nabla/runs/task_data.h"
#include "nabla/train/model.h"

namespace nabla::runs {

// A trained run, ready to use.
struct LoadedRun {
  io::json info;  // config.json
  models::BuiltModel model;
  std::shared_ptr<const data::Tokenizer> tokenizer;  // text runs only
  std::vector<std::string> class_names;
  std::unique_ptr<train::Model> trainer;  // compiled with the run's loss and metrics
  std::string checkpoint;                 // which checkpoint was loaded
};

// The checkpoint a run is used from: checkpoints/best, else checkpoints/last (a damaged one is
// passed over with a warning). None usable is an error naming the run.
std::string usable_checkpoint(const std::string& run_dir);
// Loads config.json and the best checkpoint (else the last). Errors name the run directory and
// what is missing or from a different model.
LoadedRun load_run(const std::string& run_dir);
// The test (or validation) set of a loaded run, rebuilt from its config with its tokenizer.
TaskData load_run_data(const LoadedRun& run);

// Builds (without training) the model of a config or run directory: for `nabla summary`.
models::BuiltModel build_for_summary(const std::string& config_or_run, TaskData* data_out = nullptr);

}  // namespace nabla::runs
