// nabla eval RUN_DIR: the trained model's metrics on its test set (or validation set).
#include <cmath>
#include <iostream>

#include "commands.h"
#include "nabla/core/error.h"
#include "nabla/models/run.h"
#include "run_output.h"

namespace nabla::cli {

namespace {

void run_eval(const std::string& run_dir, const std::string& split, int threads) {
  apply_threads(threads);
  models::LoadedRun run = models::load_run(run_dir);
  models::TaskData data = models::load_run_data(run);
  std::shared_ptr<const data::Dataset> set = split == "test" ? data.test : split == "validation" ? data.validation
                                                                                                 : data.train;
  NABLA_CHECK(set, run_dir, ": the run's data has no ", split, " set; try --split validation or --split train");
  train::Logs logs = run.trainer->evaluate(*set, 256);
  std::cout << run.model.type << " (" << run.checkpoint << ") on " << set->size() << " " << split << " examples:\n";
  for (auto& [k, v] : logs) std::cout << "  " << k << ": " << v << "\n";
  if (run.model.task == models::Task::language_model) {
    std::cout << "  perplexity: " << std::exp(logs["loss"]) << "\n";
    if (run.tokenizer && run.tokenizer->type() == "char")
      std::cout << "  bits per character: " << logs["loss"] / std::log(2.0) << "\n";
  }
  write_confusion_matrix(run, *set, run_dir, std::cout);
}

}  // namespace

void add_eval(CLI::App& app) {
  auto run_dir = std::make_shared<std::string>();
  auto split = std::make_shared<std::string>("test");
  auto threads = std::make_shared<int>(0);
  CLI::App* cmd = app.add_subcommand("eval", "evaluate a trained run on its test set");
  cmd->add_option("run_dir", *run_dir, "the run directory written by `nabla train`")->required();
  cmd->add_option("--split", *split, "which set: test, validation or train")
      ->check(CLI::IsMember({"test", "validation", "train"}));
  add_threads_option(*cmd, *threads);
  cmd->callback([=] { run_eval(*run_dir, *split, *threads); });
}

}  // namespace nabla::cli
