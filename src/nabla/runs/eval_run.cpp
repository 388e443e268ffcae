#include "nabla/runs/eval_run.h"

#include <cmath>

#include "nabla/core/error.h"

namespace nabla::runs {

EvalResult eval_run(LoadedRun& run, const std::string& run_dir, const std::string& split) {
  NABLA_CHECK(split == "test" || split == "validation" || split == "train", "eval: unknown split \"", split,
              "\"; use test, validation or train");
  TaskData data = load_run_data(run);
  EvalResult result;
  result.split = split;
  result.set = split == "test" ? data.test : split == "validation" ? data.validation : data.train;
  NABLA_CHECK(result.set, run_dir, ": the run's data has no ", split, " set; try --split validation or --split train");
  result.logs = run.trainer->evaluate(*result.set, 256);
  // A masked LM's loss and accuracy are over its masked tokens (the labels of the rest are ignored).
  if (run.model.task == models::Task::masked_lm) result.perplexity = std::exp(result.logs["loss"]);
  if (run.model.task == models::Task::language_model) {
    result.perplexity = std::exp(result.logs["loss"]);
    if (run.tokenizer && run.tokenizer->type() == "char")
      result.bits_per_character = result.logs["loss"] / std::log(2.0);
  }
  return result;
}

}  // namespace nabla::runs
