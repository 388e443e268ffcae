// The `nabla` subcommands, one file each; every one is a few calls into the library.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace nabla::cli {

void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_predict(CLI::App& app);
void add_generate(CLI::App& app);
void add_summary(CLI::App& app);
void add_plot(CLI::App& app);
void add_info(CLI::App& app);
void add_bench(CLI::App& app);

// --threads N on a subcommand: sets the thread count of nabla's kernels and oneDNN.
void add_threads_option(CLI::App& command, int& threads);
void apply_threads(int threads);

// --precision fp32|bf16 on a subcommand: shorthand for --set training.precision=...
void add_precision_option(CLI::App& command, std::string& precision);
void apply_precision(const std::string& precision, nlohmann::json& config);

}  // namespace nabla::cli
