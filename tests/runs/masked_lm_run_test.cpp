// BERT pretraining as a run: masked-LM on KJV windows learns, `eval` scores masked tokens only,
// and the pretrained run fills masks with its SentencePiece vocabulary.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "nabla/models/bert_tasks.h"
#include "nabla/nabla.h"

using namespace nabla;
namespace fs = std::filesystem;

TEST(MaskedLMRun, PretrainsEvaluatesMaskedTokensAndFillsMasks) {
  io::json config = io::read_json_file(std::string(NABLA_SOURCE_DIR) + "/configs/bert_mlm.json");
  for (const char* o : {"data.limit=1500", "data.seq_len=32", "data.tokenizer.vocab_size=300", "training.epochs=2",
                        "training.steps_per_epoch=15", "training.batch_size=16", "training.schedule.warmup_steps=3",
                        "model.hidden_size=64", "model.num_hidden_layers=1", "model.intermediate_size=128"})
    io::apply_override(config, o);
  const fs::path dir = fs::temp_directory_path() / "nabla_masked_lm_run_test";
  fs::remove_all(dir);
  runs::TrainRunOptions options;
  options.out_dir = dir.string();
  options.verbose = 0;
  std::ostringstream log;
  const runs::TrainRunResult result = runs::train_run(config, options, log);
  EXPECT_LT(result.history["val_loss"].back(), result.history["val_loss"].front()) << log.str();

  runs::LoadedRun run = runs::load_run(dir.string());
  const runs::EvalResult eval = runs::eval_run(run, dir.string(), "test");
  ASSERT_TRUE(eval.perplexity.has_value());
  EXPECT_NEAR(*eval.perplexity, std::exp(eval.logs.at("loss")), 1e-9);
  // Accuracy over masked tokens only: far above the share of masked positions a model would get
  // by copying its input (unmasked positions would count as right otherwise).
  const double accuracy = eval.logs.at("accuracy");
  EXPECT_GT(accuracy, 0.0);
  EXPECT_LT(accuracy, 0.6);

  auto& bert = dynamic_cast<models::Bert&>(*run.model.module);
  const auto fills = models::fill_mask(bert, *run.tokenizer, "And God said, Let there be [MASK].");
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].candidates.size(), 5u);
  double total = 0;
  for (const auto& [token, p] : fills[0].candidates) total += p;
  EXPECT_GT(total, 0.0);
  EXPECT_LE(total, 1.0 + 1e-6);
  fs::remove_all(dir);
}
