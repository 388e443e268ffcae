#include "run_output.h"

#include <filesystem>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/data/stream_decoder.h"
#include "nabla/models/generation.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/reduce.h"
#include "nabla/ops/shape_ops.h"
#include "nabla/viz/confusion_matrix.h"
#include "nabla/viz/history_plot.h"

namespace nabla::cli {

void write_history_plots(const std::string& run_dir, std::ostream& out) {
  std::vector<std::string> files = viz::plot_run_history(run_dir, run_dir + "/plots");
  out << "plots: ";
  for (size_t i = 0; i < files.size(); ++i) out << (i ? ", " : "") << files[i];
  out << "\n";
}

void write_confusion_matrix(runs::LoadedRun& run, const data::Dataset& test, const std::string& run_dir,
                            std::ostream& out) {
  const int64_t classes = int64_t(run.class_names.size());
  if (classes < 2 || run.model.task == models::Task::regression || run.model.task == models::Task::language_model)
    return;
  NoGradGuard no_grad;
  std::vector<int64_t> predicted, target;
  for (int64_t start = 0; start < test.size(); start += 512) {
    const int64_t n = std::min<int64_t>(512, test.size() - start);
    auto [x, y] = test.batch(arange(double(start), double(start + n), 1.0, DType::i64));
    Tensor scores = run.model.module->forward(x);
    Tensor labels = run.model.task == models::Task::binary ? gt(scores.reshape({-1}), full({}, 0.5)).to(DType::i64)
                                                           : argmax(scores, 1);
    for (int64_t v : labels.to_vector<int64_t>()) predicted.push_back(v);
    for (float v : y.reshape({-1}).to(DType::f32).to_vector<float>()) target.push_back(int64_t(v));
  }
  auto counts = viz::confusion_counts(tensor_i64(predicted, {int64_t(predicted.size())}),
                                      tensor_i64(target, {int64_t(target.size())}), classes);
  const std::string path = run_dir + "/plots/confusion_matrix";
  std::filesystem::create_directories(run_dir + "/plots");
  viz::save_confusion_matrix(counts, run.class_names, path);
  out << "confusion matrix: " << path << ".png, " << path << ".svg\n";
}

std::string stream_sample(runs::LoadedRun& run, const std::string& prompt, int64_t tokens,
                          const models::SamplingOptions& options, uint64_t seed, std::ostream& out) {
  auto* lm = dynamic_cast<models::LanguageModel*>(run.model.module.get());
  NABLA_CHECK(lm && run.tokenizer, "generate: this run's model (", run.model.type,
              ") is not a language model; train one of gru_lm, char_rnn or gpt");
  NABLA_CHECK(!prompt.empty(), "generate: the prompt is empty; pass --prompt TEXT");
  std::vector<int64_t> ids = run.tokenizer->encode(prompt);
  NABLA_CHECK(!ids.empty(), "generate: the prompt \"", prompt, "\" encodes to no tokens");
  Generator gen(seed);
  data::StreamDecoder text(*run.tokenizer);
  out << prompt << std::flush;
  models::SamplingOptions within_vocabulary = options;  // a padded embedding's extra rows are no tokens
  within_vocabulary.vocab_limit = run.tokenizer->vocab_size();
  models::generate(*lm, ids, tokens, within_vocabulary, gen, [&](int64_t id) {
    const bool first = text.text().empty();
    const std::string added = text.push(id);
    if (!added.empty()) out << (first && run.tokenizer->type() == "word" ? " " : "") << added << std::flush;
  });
  out << "\n";
  return prompt + text.text();
}

}  // namespace nabla::cli
