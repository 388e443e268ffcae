// The `nabla` command line as a CLI11 app: the subcommands, their options and the checks on them.
// main.cpp runs it; the command-line fuzz target parses with it.
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "commands.h"
#include "nabla/kernels/parallel.h"
#include "nabla/ops/autocast.h"

namespace nabla::cli {

namespace {

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// The value as a number, or an explanation of why it is not one.
std::string check_number(const std::string& value, double& v) {
  char* end = nullptr;
  v = std::strtod(value.c_str(), &end);
  if (value.empty() || end == value.c_str() || *end != '\0') return "expected a number, got \"" + value + "\"";
  if (std::isnan(v)) return "expected a number, got NaN";
  return "";
}

}  // namespace

CLI::Validator at_least(double minimum) {
  return CLI::Validator(
      [minimum](std::string& value) {
        double v = 0;
        std::string problem = check_number(value, v);
        if (problem.empty() && v < minimum) problem = "must be at least " + number_text(minimum) + ", got " + value;
        return problem;
      },
      ">= " + number_text(minimum));
}

CLI::Validator between(double low, double high) {
  return CLI::Validator(
      [low, high](std::string& value) {
        double v = 0;
        std::string problem = check_number(value, v);
        if (problem.empty() && (v < low || v > high))
          problem = "must be between " + number_text(low) + " and " + number_text(high) + ", got " + value;
        return problem;
      },
      "in [" + number_text(low) + ", " + number_text(high) + "]");
}

void add_threads_option(CLI::App& command, int& threads) {
  command.add_option("--threads", threads, "threads for the kernels (default: all cores, or NABLA_NUM_THREADS)")
      ->check(between(1, nabla::kMaxThreads));
}

void apply_threads(int threads) {
  if (threads > 0) nabla::set_num_threads(threads);
}

void add_precision_option(CLI::App& command, std::string& precision) {
  command.add_option("--precision", precision,
                     "fp32 (default) or bf16: bf16 matrix inputs with f32 accumulation and f32 master weights");
}

void apply_precision(const std::string& precision, nlohmann::json& config) {
  if (precision.empty()) return;
  config["training"]["precision"] = nabla::parse_precision(precision) == DType::bf16 ? "bf16" : "fp32";
}

namespace {
bool actions_enabled = true;
}  // namespace

void run_action(const std::function<void()>& action) {
  if (actions_enabled) action();
}

void set_actions_enabled(bool enabled) { actions_enabled = enabled; }

void build_app(CLI::App& app) {
  app.description(
      "nabla: define, train, evaluate and run neural networks.\n"
      "  nabla train configs/fashion_cnn.json --out runs/cnn\n"
      "  nabla eval runs/cnn;  nabla plot runs/cnn;  nabla generate runs/gpt --prompt \"And God\"");
  app.name("nabla");
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  add_train(app);
  add_eval(app);
  add_predict(app);
  add_generate(app);
  add_summary(app);
  add_plot(app);
  add_info(app);
  add_bench(app);
  add_import(app);
  add_export(app);
}

}  // namespace nabla::cli
