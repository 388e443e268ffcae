// The `nabla` subcommands, one file each; every one is a few calls into the library.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace nabla::cli {

// The whole command line: every subcommand below, added to `app`.
void build_app(CLI::App& app);

// Every command's callback runs its action through run_action, so a parse can be checked without
// running anything (the command-line fuzz target turns actions off).
void run_action(const std::function<void()>& action);
void set_actions_enabled(bool enabled);

void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_predict(CLI::App& app);
void add_generate(CLI::App& app);
void add_summary(CLI::App& app);
void add_plot(CLI::App& app);
void add_info(CLI::App& app);
void add_bench(CLI::App& app);
void add_import(CLI::App& app);
void add_export(CLI::App& app);

// Option checks with plain messages ("--tokens: must be at least 1, got 0") instead of CLI11's
// ranges up to 1.8e308; both reject NaN and values that are not numbers.
CLI::Validator at_least(double minimum);
CLI::Validator between(double low, double high);

// --threads N on a subcommand: sets the thread count of nabla's kernels and oneDNN.
void add_threads_option(CLI::App& command, int& threads);
void apply_threads(int threads);

// --precision fp32|bf16 on a subcommand: shorthand for --set training.precision=...
void add_precision_option(CLI::App& command, std::string& precision);
void apply_precision(const std::string& precision, nlohmann::json& config);

}  // namespace nabla::cli
