// nabla summary CONFIG.json|RUN_DIR: the model's layers, output shapes and parameter counts.
#include <iostream>

#include "commands.h"
#include "nabla/nn/sequential.h"
#include "nabla/runs/runs.h"

namespace nabla::cli {

namespace {

void print_summary(const std::string& target) {
  runs::TaskData data;
  models::BuiltModel built = runs::build_for_summary(target, &data);
  std::cout << "model: " << built.type << "\n";
  if (auto* seq = dynamic_cast<nn::Sequential*>(built.module.get()); seq && data.shape.input.size() > 0) {
    Shape input = data.shape.input;
    input.insert(0, 1);
    if (data.shape.input_dtype == DType::f32) {
      std::cout << seq->summary(input);
      return;
    }
  }
  std::cout << built.module->summary();
}

}  // namespace

void add_summary(CLI::App& app) {
  auto target = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("summary", "print a model's layers and parameter counts");
  cmd->add_option("config_or_run", *target, "a JSON config or a run directory")->required()->check(CLI::ExistingPath);
  cmd->callback([target] { run_action([&] { print_summary(*target); }); });
}

}  // namespace nabla::cli
