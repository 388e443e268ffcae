// nabla eval RUN_DIR: the trained model's metrics on its test set (or validation set).
#include <iostream>

#include "commands.h"
#include "nabla/runs/runs.h"
#include "run_output.h"

namespace nabla::cli {

namespace {

void run_eval(const std::string& run_dir, const std::string& split, int threads) {
  apply_threads(threads);
  runs::LoadedRun run = runs::load_run(run_dir);
  const runs::EvalResult result = runs::eval_run(run, run_dir, split);
  std::cout << run.model.type << " (" << run.checkpoint << ") on " << result.set->size() << " " << split
            << " examples:\n";
  for (auto& [k, v] : result.logs) std::cout << "  " << k << ": " << v << "\n";
  if (result.perplexity) std::cout << "  perplexity: " << *result.perplexity << "\n";
  if (result.bits_per_character) std::cout << "  bits per character: " << *result.bits_per_character << "\n";
  write_confusion_matrix(run, *result.set, run_dir, std::cout);
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
  cmd->callback([=] { run_action([&] { run_eval(*run_dir, *split, *threads); }); });
}

}  // namespace nabla::cli
