// The runs layer in process: a config trained into a run directory, loaded back, evaluated and
// benchmarked, and the optimizer a config names.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "../error_message.h"
#include "nabla/nabla.h"
#include "run_dirs.h"

using namespace nabla;
using test_support::error_of;
using test_support::quiet_run;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) { return test_support::fresh_run_dir("nabla_runs_test", name); }

io::json neuron_config(int epochs) {
  return {{"name", "neuron"},
          {"seed", 1},
          // The label copies the first input; the last 2 of 6 rows validate.
          {"data",
           {{"dataset", "inline"},
            {"x", {{0, 0, 1}, {1, 1, 1}, {1, 0, 1}, {0, 1, 1}, {1, 1, 0}, {0, 1, 0}}},
            {"y", {0, 1, 1, 0, 1, 0}},
            {"validation_split", 1.0 / 3},
            {"predict", {{1, 0, 0}}}}},
          {"model", {{"type", "neuron"}}},
          {"training",
           {{"epochs", epochs},
            {"batch_size", 1},
            {"loss", "mse"},
            {"metrics", io::json::array()},
            {"optimizer", {{"name", "sgd"}, {"lr", 1.0}}}}}};
}

}  // namespace

TEST(Runs, TrainRunWritesARunThatLoadRunAndEvalRunReadBack) {
  const fs::path dir = fresh_dir("neuron");
  std::ostringstream log;
  runs::TrainRunResult result = runs::train_run(neuron_config(200), quiet_run(dir), log);
  for (const char* file : {"config.json", "history.csv", "steps.csv", "checkpoints/best/model.safetensors",
                           "checkpoints/last/model.safetensors"})
    EXPECT_TRUE(fs::exists(dir / file)) << file;
  ASSERT_EQ(result.history.epochs.size(), 200u);
  EXPECT_LT(result.history["loss"].back(), 0.5 * result.history["loss"].front()) << "the neuron did not learn";
  EXPECT_NE(log.str().find("training neuron on 4 examples"), std::string::npos) << log.str();
  ASSERT_TRUE(result.predictions.defined());
  EXPECT_GT(result.predictions.item(), 0.5) << "the prediction for [1, 0, 0] should follow the first input";

  runs::LoadedRun run = runs::load_run(dir.string());
  EXPECT_EQ(run.model.type, "neuron");
  EXPECT_EQ(run.checkpoint, (dir / "checkpoints" / "best").string());
  const runs::EvalResult eval = runs::eval_run(run, dir.string(), "validation");
  EXPECT_EQ(eval.set->size(), 2);
  // The best checkpoint is the epoch with the lowest val_loss, and eval_run loads it.
  const auto& val_loss = result.history["val_loss"];
  EXPECT_NEAR(eval.logs.at("loss"), *std::min_element(val_loss.begin(), val_loss.end()), 1e-6);
  EXPECT_FALSE(eval.perplexity.has_value());
  EXPECT_NE(error_of([&] { runs::eval_run(run, dir.string(), "test"); }).find("has no test set"), std::string::npos);
}

TEST(Runs, AnUnknownConfigKeyIsAnErrorNamingIt) {
  io::json config = neuron_config(1);
  config["training"]["epoch"] = 3;  // a typo of epochs
  const std::string message = error_of([&] { runs::train_run(config, quiet_run(fresh_dir("typo")), std::cout); });
  EXPECT_NE(message.find("training.epoch"), std::string::npos) << message;
}

TEST(Runs, AdamWLeavesGptBiasesAndNormGainsUndecayed) {
  io::json gpt = {{"type", "gpt"}, {"context", 8}, {"n_layer", 1}, {"n_head", 2}, {"n_embd", 8}};
  io::ConfigReader gpt_reader(gpt, "model");
  models::BuiltModel built = models::build_model(gpt_reader, {{8}, DType::i64, 0, 11});
  io::json adamw = {{"name", "adamw"}, {"lr", 0.01}, {"weight_decay", 0.1}};
  auto optimizer = runs::build_optimizer(io::ConfigReader(adamw, "training.optimizer"), built);
  ASSERT_EQ(optimizer->param_groups().size(), 2u);
  EXPECT_DOUBLE_EQ(optimizer->param_groups()[0].weight_decay, 0.1);
  EXPECT_DOUBLE_EQ(optimizer->param_groups()[1].weight_decay, 0.0);
  for (const Tensor& p : optimizer->param_groups()[0].params) EXPECT_GE(p.dim(), 2);
  for (const Tensor& p : optimizer->param_groups()[1].params) EXPECT_EQ(p.dim(), 1);

  // Any other model: one group, every parameter decayed.
  io::json mlp = {{"type", "mlp"}};
  io::ConfigReader mlp_reader(mlp, "model");
  models::BuiltModel classifier = models::build_model(mlp_reader, {{1, 28, 28}, DType::f32, 10, 0});
  auto plain = runs::build_optimizer(io::ConfigReader(adamw, "training.optimizer"), classifier);
  ASSERT_EQ(plain->param_groups().size(), 1u);
  EXPECT_DOUBLE_EQ(plain->param_groups()[0].weight_decay, 0.1);
}

TEST(Runs, BenchRunTimesTheConfigsModel) {
  io::json result = runs::bench_run(neuron_config(1), {.steps = 3, .warmup = 1});
  EXPECT_EQ(result.at("model"), "neuron");
  EXPECT_EQ(result.at("parameters"), 4);
  EXPECT_GT(result.at("median_s").get<double>(), 0.0);
  EXPECT_GT(result.at("samples_per_s").get<double>(), 0.0);
}

// configs/neuron.json is the articles' TensorFlow listing: from the golden file's initial weights
// its prediction for [10, 11, 12] is PyTorch's for the same program (tests/golden/neuron).
TEST(Runs, TheNeuronConfigPredictsAsPyTorchFromTheSameWeights) {
  const std::string golden = std::string(NABLA_SOURCE_DIR) + "/tests/golden/neuron/";
  io::json config = io::read_json_file(std::string(NABLA_SOURCE_DIR) + "/configs/neuron.json");
  config["model"]["initial_weights"] = golden + "initial.safetensors";
  const fs::path dir = fresh_dir("neuron_config");
  std::ostringstream log;
  runs::TrainRunResult result = runs::train_run(config, quiet_run(dir), log);
  const auto expected = io::load_safetensors(golden + "expected.safetensors").tensors;
  ASSERT_TRUE(result.predictions.defined()) << log.str();
  EXPECT_NEAR(result.predictions.item(), expected.at("prediction").item(), 1e-4);
  EXPECT_NEAR(result.history["loss"].front(), expected.at("loss").at({0}), 1e-6);
  EXPECT_EQ(result.history.epochs.size(), 1000u);
}

TEST(Runs, InitialWeightsThatDoNotFitAreNamedBeforeWork) {
  io::json config = neuron_config(1);
  config["model"]["initial_weights"] =
      std::string(NABLA_SOURCE_DIR) + "/tests/golden/neuron/expected.safetensors";  // has extra tensors
  const fs::path dir = fresh_dir("bad_initial");
  const std::string message = error_of([&] { runs::train_run(config, quiet_run(dir), std::cout); });
  EXPECT_NE(message.find("model.initial_weights"), std::string::npos) << message;
  EXPECT_NE(message.find("unexpected keys"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir));
}
