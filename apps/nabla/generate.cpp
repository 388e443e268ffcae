// nabla generate RUN_DIR --prompt TEXT -n N --temperature T --top-k K --top-p P --seed S
#include <iostream>

#include "commands.h"
#include "nabla/runs/runs.h"
#include "run_output.h"

namespace nabla::cli {

namespace {

struct GenerateArgs {
  std::string run_dir, prompt;
  int64_t tokens = -1, top_k = -1;
  double temperature = -1, top_p = -1;
  uint64_t seed = 1;
  int threads = 0;
};

void run_generate(const GenerateArgs& a) {
  apply_threads(a.threads);
  runs::LoadedRun run = runs::load_run(a.run_dir);
  const io::json& g = run.info["config"].value("generate", io::json::object());
  auto pick = [&](auto given, const char* key, auto fallback) {
    return given >= 0 ? given : g.contains(key) ? g[key].get<decltype(given)>() : fallback;
  };
  models::SamplingOptions options{.temperature = pick(a.temperature, "temperature", 0.8),
                                  .top_k = pick(a.top_k, "top_k", int64_t(0)),
                                  .top_p = pick(a.top_p, "top_p", 0.95)};
  const std::string prompt = !a.prompt.empty() ? a.prompt : g.value("prompt", std::string());
  stream_sample(run, prompt, pick(a.tokens, "tokens", int64_t(400)), options, a.seed, std::cout);
}

}  // namespace

void add_generate(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "sample text from a trained language model (KV-cached)");
  cmd->add_option("run_dir", a->run_dir, "the run directory of a gru_lm, char_rnn or gpt run")->required();
  cmd->add_option("--prompt", a->prompt, "text to continue (default, and when empty: the run's generate.prompt)");
  cmd->add_option("-n,--tokens", a->tokens, "how many tokens to generate")->check(at_least(1));
  cmd->add_option("--temperature", a->temperature, "0 = greedy; higher = more random")->check(between(0, 100));
  cmd->add_option("--top-k", a->top_k, "sample among the k most likely tokens (0 = all)")->check(at_least(0));
  cmd->add_option("--top-p", a->top_p, "nucleus sampling: the smallest set with this much probability")
      ->check(between(0.000001, 1));
  cmd->add_option("--seed", a->seed, "sampling seed (the same seed repeats the text)");
  add_threads_option(*cmd, a->threads);
  cmd->callback([a] { run_action([&] { run_generate(*a); }); });
}

}  // namespace nabla::cli
