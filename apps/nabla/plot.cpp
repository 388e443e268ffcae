// nabla plot RUN_DIR: history plots (loss and metrics, train and validation, per epoch and per step).
#include <iostream>

#include "commands.h"
#include "run_output.h"

namespace nabla::cli {

void add_plot(CLI::App& app) {
  auto run_dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("plot", "draw a run's training history as PNG and SVG");
  cmd->add_option("run_dir", *run_dir, "the run directory written by `nabla train`")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->callback([run_dir] { run_action([&] { write_history_plots(*run_dir, std::cout); }); });
}

}  // namespace nabla::cli
