// training.distill: a student learns from a teacher run's soft targets (train::Distillation), on
// real text, with the teacher checked against the student before any work.
#include <gtest/gtest.h>

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

fs::path fresh_dir(const std::string& name) { return test_support::fresh_run_dir("nabla_distill_test", name); }

// A character GPT on the first 2,000 lines of the KJV.
io::json kjv_gpt(int layers, int width, int steps) {
  return {{"seed", 3},
          {"data", {{"dataset", "kjv_lm"}, {"limit", 2000}, {"seq_len", 32}, {"tokenizer", {{"type", "char"}}}}},
          {"model",
           {{"type", "gpt"}, {"n_layer", layers}, {"n_head", 2}, {"n_embd", width}, {"context", 32}, {"dropout", 0.0}}},
          {"training",
           {{"epochs", 1},
            {"batch_size", 16},
            {"steps_per_epoch", steps},
            {"optimizer", {{"name", "adamw"}, {"lr", 0.003}, {"weight_decay", 0.1}}}}}};
}

}  // namespace

TEST(Distill, AStudentLearnsFromAGptTeacherOnTheKjv) {
  const fs::path teacher = fresh_dir("teacher"), student = fresh_dir("student");
  runs::train_run(kjv_gpt(2, 48, 60), quiet_run(teacher), std::cout);
  io::json config = kjv_gpt(1, 16, 30);
  config["training"]["distill"] = {{"teacher", teacher.string()}, {"temperature", 2.0}, {"alpha", 0.7}};
  std::ostringstream log;
  const runs::TrainRunResult result = runs::train_run(config, quiet_run(student), log);
  EXPECT_NE(log.str().find("distilling from"), std::string::npos) << log.str();
  // The first steps' loss is the blend; it falls as the student learns both targets.
  const io::json info = io::load_json((student / "config.json").string());
  EXPECT_EQ(info["config"]["training"]["distill"]["alpha"], 0.7);
  ASSERT_TRUE(result.history.history.count("val_loss")) << "kjv_lm validates";
  const double characters = info["data_shape"]["vocab_size"].get<double>();
  EXPECT_LT(result.history["val_loss"].back(), 0.8 * std::log(characters)) << "not far below a uniform guess";
}

TEST(Distill, TheTeacherMustScoreWhatTheStudentScores) {
  const fs::path dir = fresh_dir("mismatch");
  io::json config = kjv_gpt(1, 16, 2);
  config["training"]["distill"] = {{"teacher", (dir / "none").string()}};
  std::string message = error_of([&] { runs::train_run(config, quiet_run(dir / "out"), std::cout); });
  EXPECT_NE(message.find("training.distill.teacher"), std::string::npos) << message;
  EXPECT_NE(message.find("not a run directory"), std::string::npos) << message;

  // The student's tokenizer comes from model.init_from's word-level run; the teacher reads characters.
  io::json words = kjv_gpt(1, 16, 2);
  words["data"]["tokenizer"] = {{"type", "word"}, {"vocab_size", 200}};
  runs::train_run(words, quiet_run(dir / "words"), std::cout);
  config = kjv_gpt(1, 16, 2);
  config["data"]["tokenizer"] = {{"type", "char"}};
  config["model"]["init_from"] = (dir / "words").string();  // gives the student the word tokenizer
  runs::train_run(kjv_gpt(1, 16, 2), quiet_run(dir / "chars"), std::cout);
  config["training"]["distill"] = {{"teacher", (dir / "chars").string()}};
  message = error_of([&] { runs::train_run(config, quiet_run(dir / "out"), std::cout); });
  EXPECT_NE(message.find("training.distill.teacher"), std::string::npos) << message;
  EXPECT_NE(message.find("the student"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(Distill, AlphaOneFollowsTheTeacherAlone) {
  // A student with alpha 1 ignores its labels: trained on random labels, it still matches its
  // teacher's predictions.
  manual_seed(8);
  auto teacher = models::make_mlp(4, {16}, 3, 0.0);
  auto student = models::make_mlp(4, {16}, 3, 0.0);
  const Tensor x = randn({256, 4}), noise = randint(0, 3, {256});
  train::Model model(student);
  model.compile(optim::make_optimizer("adam", student->parameters(), {.lr = 0.01}), "sparse_categorical_crossentropy",
                {"accuracy"});
  model.distill_from({.teacher = teacher, .temperature = 1.0, .alpha = 1.0});
  model.fit(x, noise, {.epochs = 40, .batch_size = 64, .verbose = 0});
  NoGradGuard no_grad;
  student->eval();
  const Tensor agree = eq(argmax(student->forward(x), -1), argmax(teacher->forward(x), -1));
  EXPECT_GT(mean(agree.to(DType::f32)).item<double>(), 0.9);
}
