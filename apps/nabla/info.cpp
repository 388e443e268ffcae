// nabla info CHECKPOINT: the tensors (names, dtypes, shapes) of a checkpoint or safetensors file,
// and the run config it belongs to.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "nabla/core/error.h"
#include "nabla/io/checkpoint.h"
#include "nabla/io/safetensors.h"

namespace nabla::cli {

namespace {

void run_info(const std::string& target) {
  namespace fs = std::filesystem;
  std::string file = target, run_config;
  if (fs::is_directory(target)) {
    // A run directory, or one of its checkpoints.
    std::string checkpoint = target;
    if (fs::exists(target + "/config.json") && fs::exists(target + "/checkpoints")) {
      run_config = target + "/config.json";
      checkpoint =
          fs::exists(target + "/checkpoints/best") ? target + "/checkpoints/best" : target + "/checkpoints/last";
    } else if (fs::exists(fs::path(target).parent_path().parent_path() / "config.json")) {
      run_config = (fs::path(target).parent_path().parent_path() / "config.json").string();
    }
    file = checkpoint + "/model.safetensors";
    NABLA_CHECK(fs::exists(file), target,
                ": no model.safetensors here; pass a run directory, a checkpoint "
                "directory or a .safetensors file");
  }
  io::SafetensorsFile weights = io::load_safetensors(file);
  int64_t total = 0;
  std::cout << file << "\n";
  for (auto& [name, t] : weights.tensors) {
    std::cout << "  " << name << "  " << dtype_name(t.dtype()) << " " << t.shape() << "\n";
    total += t.numel();
  }
  std::cout << weights.tensors.size() << " tensors, " << total << " values\n";
  for (auto& [k, v] : weights.metadata) std::cout << "metadata " << k << ": " << v << "\n";
  if (!run_config.empty()) {
    nlohmann::json info = io::load_json(run_config);
    std::cout << "model: " << info.value("model_type", std::string("?")) << "\nconfig: " << info["config"].dump(2)
              << "\n";
    if (!info["tokenizer"].is_null())
      std::cout << "tokenizer: " << info["tokenizer"].value("type", std::string("?")) << "\n";
  }
}

}  // namespace

void add_info(CLI::App& app) {
  auto target = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("info", "list a checkpoint's tensors, dtypes, shapes and config");
  cmd->add_option("checkpoint", *target, "a run directory, a checkpoint directory or a .safetensors file")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->callback([target] { run_action([&] { run_info(*target); }); });
}

}  // namespace nabla::cli
