// eval_run: a trained run's metrics on one of its data splits, for `nabla eval`.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "nabla/data/dataset.h"
#include "nabla/runs/loaded_run.h"
#include "nabla/train/callbacks.h"

namespace nabla::runs {

struct EvalResult {
  std::string split;                         // test, validation or train
  std::shared_ptr<const data::Dataset> set;  // the examples evaluated
  train::Logs logs;                          // the run's loss and metrics
  std::optional<double> perplexity;          // language models: exp(loss)
  std::optional<double> bits_per_character;  // character-level language models: loss / ln 2
};

// Evaluates `run` on the named split of its data; an error names the run and the splits to try
// when the data has no such split.
EvalResult eval_run(LoadedRun& run, const std::string& run_dir, const std::string& split);

}  // namespace nabla::runs
