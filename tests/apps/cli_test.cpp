// The `nabla` command line end to end on tiny configs and the real datasets:
// train -> eval -> generate -> plot -> info -> summary -> predict, and its errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../run_command.h"

namespace fs = std::filesystem;

namespace {

using nabla::test_support::file_text;
using Result = nabla::test_support::CommandResult;

Result run(const std::string& args) {
  return nabla::test_support::run_command(std::string(NABLA_BINARY_DIR "/bin/nabla ") + args);
}

// The test metrics `nabla train` wrote: they show the model learned, not just that it ran.
double test_metric(const std::string& run_dir, const std::string& key) {
  std::ifstream in(run_dir + "/results.json");
  return nlohmann::json::parse(in).at("test").at(key).get<double>();
}

std::string config(const std::string& name) { return std::string(NABLA_SOURCE_DIR "/tests/apps/") + name; }

using Cli = nabla::test_support::ScratchDirTest;

}  // namespace

TEST_F(Cli, GptTrainsEvaluatesGeneratesAndPlots) {
  const std::string out = path("gpt");
  Result train = run("train " + config("tiny_gpt.json") + " --out " + out + " --verbose 2 --threads 2");
  ASSERT_EQ(train.status, 0) << train.output;
  for (const char* file :
       {"config.json", "history.csv", "steps.csv", "log.txt", "results.json", "checkpoints/best/model.safetensors",
        "checkpoints/last/optimizer.safetensors", "plots/loss.png", "plots/loss.svg", "plots/steps_loss.png"})
    EXPECT_TRUE(fs::exists(out + "/" + file)) << file << "\n" << train.output;
  EXPECT_LT(test_metric(out, "loss"), 3.3);  // a uniform guess over ~70 characters costs 4.2 nats

  Result eval = run("eval " + out);
  ASSERT_EQ(eval.status, 0) << eval.output;
  EXPECT_NE(eval.output.find("perplexity"), std::string::npos) << eval.output;

  Result a = run("generate " + out + " --prompt \"And God said\" -n 30 --seed 5 --top-k 10");
  Result b = run("generate " + out + " --prompt \"And God said\" -n 30 --seed 5 --top-k 10");
  ASSERT_EQ(a.status, 0) << a.output;
  EXPECT_EQ(a.output, b.output);  // seeded sampling repeats
  EXPECT_EQ(a.output.rfind("And God said", 0), 0u) << a.output;
  EXPECT_GE(a.output.size(), std::string("And God said").size() + 30);

  Result unknown = run("generate " + out + " --prompt \"\xe2\x98\x83 snowman\" -n 5");  // not in the KJV
  EXPECT_EQ(unknown.status, 0) << "char tokenizers of runs map unseen characters to <unk>: " << unknown.output;

  EXPECT_EQ(run("plot " + out).status, 0);
  Result info = run("info " + out);
  ASSERT_EQ(info.status, 0) << info.output;
  EXPECT_NE(info.output.find("wte.weight"), std::string::npos) << info.output;

  // Resuming a finished run asks for more epochs; with them it continues from epoch 3.
  Result done = run("train --resume " + out);
  EXPECT_NE(done.status, 0);
  EXPECT_NE(done.output.find("--set training.epochs=N"), std::string::npos) << done.output;
  Result more = run("train --resume " + out + " --set training.epochs=3 --verbose 2 --threads 2");
  ASSERT_EQ(more.status, 0) << more.output;
  EXPECT_NE(more.output.find("Epoch 3/3"), std::string::npos) << more.output;
  EXPECT_EQ(more.output.find("Epoch 2/3"), std::string::npos) << more.output;
}

TEST_F(Cli, SubwordGptTrainsAndGeneratesThroughSentencePiece) {
  const std::string out = path("bpe");
  Result train = run("train " + config("tiny_bpe.json") + " --out " + out + " --verbose 0");
  ASSERT_EQ(train.status, 0) << train.output;
  EXPECT_LT(test_metric(out, "loss"), 5.5);  // uniform over 300 pieces: 5.7 nats
  Result a = run("generate " + out + " --prompt \"And the LORD\" -n 10 --seed 2");
  ASSERT_EQ(a.status, 0) << a.output;
  EXPECT_EQ(a.output.rfind("And the LORD", 0), 0u) << a.output;
}

TEST_F(Cli, ImageClassifierTrainsPredictsAndDrawsAConfusionMatrix) {
  const std::string out = path("cnn");
  Result train = run("train " + config("tiny_cnn.json") + " --out " + out + " --verbose 0");
  ASSERT_EQ(train.status, 0) << train.output;
  EXPECT_TRUE(fs::exists(out + "/plots/confusion_matrix.png")) << train.output;
  EXPECT_TRUE(fs::exists(out + "/plots/accuracy.png")) << train.output;
  EXPECT_GT(test_metric(out, "accuracy"), 0.65);  // 10 classes: chance is 0.10

  // A 28x28 PGM: predict names one of the ten classes.
  std::ofstream(path("shirt.pgm"), std::ios::binary) << "P5\n28 28\n255\n" << std::string(28 * 28, '\x40');
  Result predict = run("predict " + out + " " + path("shirt.pgm"));
  ASSERT_EQ(predict.status, 0) << predict.output;
  EXPECT_NE(predict.output.find("shirt.pgm"), std::string::npos) << predict.output;

  std::ofstream(path("small.pgm"), std::ios::binary) << "P5\n4 4\n255\n" << std::string(16, '\x10');
  Result wrong = run("predict " + out + " " + path("small.pgm"));
  EXPECT_NE(wrong.status, 0);
  EXPECT_NE(wrong.output.find("resize"), std::string::npos) << wrong.output;
  std::ofstream(path("broken.pgm"), std::ios::binary) << "P5\n28 28\n255\n" << std::string(10, '\x10');
  Result truncated = run("predict " + out + " " + path("broken.pgm"));
  EXPECT_NE(truncated.status, 0);
  EXPECT_NE(truncated.output.find("truncated"), std::string::npos) << truncated.output;
}

TEST_F(Cli, TextClassifierPredictsLines) {
  const std::string out = path("text");
  Result train = run("train " + config("tiny_text.json") + " --out " + out + " --verbose 0");
  ASSERT_EQ(train.status, 0) << train.output;
  EXPECT_GT(test_metric(out, "accuracy"), 0.80);  // always "Old Testament" scores 0.74
  std::ofstream(path("verses.txt")) << "In the beginning God created the heaven and the earth.\n"
                                    << "Jesus answered and said unto them, Verily I say unto you.\n";
  Result predict = run("predict " + out + " " + path("verses.txt"));
  ASSERT_EQ(predict.status, 0) << predict.output;
  EXPECT_NE(predict.output.find("Testament"), std::string::npos) << predict.output;
}

TEST_F(Cli, BadConfigsFailWithTheKeyPath) {
  std::ofstream(path("bad.json"))
      << R"({"data": {"dataset": "inline", "x": [[1, 2]], "y": [1]}, "model": {"type": "neuron"},
                                         "training": {"optimizer": {"lr": "fast"}}})";
  Result bad = run("train " + path("bad.json") + " --out " + path("run"));
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("training.optimizer.lr: expected a positive number, got \"fast\""), std::string::npos)
      << bad.output;

  Result typo = run("train " + config("tiny_cnn.json") + " --set training.epochz=3 --out " + path("run"));
  EXPECT_NE(typo.status, 0);
  EXPECT_NE(typo.output.find("training.epochz: unknown key"), std::string::npos) << typo.output;

  Result not_json = run("summary " + config("cli_test.cpp"));
  EXPECT_NE(not_json.status, 0);
  EXPECT_NE(not_json.output.find("not valid JSON"), std::string::npos) << not_json.output;

  Result huge = run("train " + config("tiny_gpt.json") +
                    " --set model.n_embd=65536 --set model.n_head=64 --set "
                    "model.n_layer=96 --out " +
                    path("huge"));
  EXPECT_NE(huge.status, 0);
  EXPECT_NE(huge.output.find("GB to train (weights, gradients, Adam state); this machine has"), std::string::npos)
      << huge.output;

  Result unwritable = run("train " + config("tiny_cnn.json") + " --out /proc/nabla-run");
  EXPECT_NE(unwritable.status, 0);
  EXPECT_NE(unwritable.output.find("cannot create the run directory /proc/nabla-run"), std::string::npos)
      << unwritable.output;

  Result no_run = run("eval " + path("nowhere"));
  EXPECT_NE(no_run.status, 0);
  EXPECT_NE(no_run.output.find("not a run directory"), std::string::npos) << no_run.output;

  Result help = run("--help");
  EXPECT_EQ(help.status, 0);
  for (const char* command : {"train", "eval", "predict", "generate", "summary", "plot", "info", "bench"})
    EXPECT_NE(help.output.find(command), std::string::npos) << command;
}

namespace {

int64_t line_count(const std::string& file) {
  const std::string text = file_text(file);
  return std::count(text.begin(), text.end(), '\n');
}

// Starts `nabla train <args>` into out_dir, sends `signal_number` once steps.csv has `lines` lines,
// and returns the wait status.
int train_until_signalled(const std::string& args, const std::string& out_dir, int64_t lines, int signal_number) {
  const pid_t child = fork();
  if (child == 0) {
    const std::string command =
        "exec " NABLA_BINARY_DIR "/bin/nabla train " + args + " --out " + out_dir + " > " + out_dir + ".log 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 12000 && line_count(out_dir + "/steps.csv") < lines; ++i) usleep(5000);
  kill(child, signal_number);
  int status = 0;
  waitpid(child, &status, 0);
  return status;
}

}  // namespace

// A run stopped in its second epoch — by SIGKILL (no warning: it resumes from the last epoch's
// checkpoint) or by SIGINT / SIGTERM (it finishes the step and saves where it was) — and resumed
// logs and learns exactly what the same run uninterrupted does.
TEST_F(Cli, InterruptedRunsResumeBitIdentically) {
  struct Case {
    std::string name, args;
    int64_t lines;  // steps.csv lines (header + steps) before the signal
    int signal_number;
  };
  const std::string tiny_gpt = config("tiny_gpt.json") + " --set training.epochs=3 --verbose 0 --threads 2";
  const std::string tiny_cnn = config("tiny_cnn.json") + " --set training.epochs=2 --verbose 0 --threads 2";
  // configs/gpt.json itself (4 layers, 256 wide, context 128), on fewer verses and steps.
  const std::string gpt_small = std::string(NABLA_SOURCE_DIR "/configs/gpt.json") +
                                " --set data.limit=3000 --set training.steps_per_epoch=6 --set training.epochs=2"
                                " --set training.schedule.warmup_steps=3 --verbose 0 --threads 2";
  for (const Case& c : {Case{"gpt_kill", tiny_gpt, 51, SIGKILL}, Case{"gpt_int", tiny_gpt, 55, SIGINT},
                        Case{"cnn_term", tiny_cnn, 100, SIGTERM}, Case{"small_int", gpt_small, 9, SIGINT}}) {
    SCOPED_TRACE(c.name);
    const std::string whole = path(c.name + "_whole"), stopped = path(c.name);
    Result reference = run("train " + c.args + " --out " + whole);
    ASSERT_EQ(reference.status, 0) << reference.output;
    const int status = train_until_signalled(c.args, stopped, c.lines, c.signal_number);
    const std::string log = file_text(stopped + ".log");
    if (c.signal_number == SIGKILL) {
      ASSERT_TRUE(WIFSIGNALED(status)) << "it finished before it could be killed: " << log;
    } else {
      ASSERT_TRUE(WIFEXITED(status)) << log;
      EXPECT_EQ(WEXITSTATUS(status), 128 + c.signal_number) << log;
      EXPECT_NE(log.find("stopped by signal " + std::to_string(c.signal_number) + " at epoch 2, step "),
                std::string::npos)
          << log;
      EXPECT_NE(log.find("nabla train --resume " + stopped), std::string::npos) << log;
    }
    Result resumed = run("train --resume " + stopped + " --verbose 0 --threads 2");
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    for (const char* file : {"steps.csv", "history.csv", "results.json", "checkpoints/last/model.safetensors",
                             "checkpoints/last/optimizer.safetensors"})
      EXPECT_EQ(file_text(stopped + "/" + file), file_text(whole + "/" + file)) << file;
  }
}

TEST_F(Cli, PrecisionAndThreadCountAreChecked) {
  Result bf16 = run("bench " + config("tiny_gpt.json") + " --json --steps 2 --warmup 1 --threads 1 --precision bf16");
  ASSERT_EQ(bf16.status, 0) << bf16.output;
  const nlohmann::json j = nlohmann::json::parse(bf16.output.substr(bf16.output.rfind("{")));
  EXPECT_EQ(j.at("precision"), "bf16");

  Result fp16 = run("train " + config("tiny_gpt.json") + " --precision fp16 --out " + path("run"));
  EXPECT_NE(fp16.status, 0);
  EXPECT_NE(fp16.output.find("precision \"fp16\" is not supported; use \"fp32\" or \"bf16\""), std::string::npos)
      << fp16.output;
  Result key = run("train " + config("tiny_gpt.json") + " --set training.precision=half --out " + path("run"));
  EXPECT_NE(key.status, 0);
  EXPECT_NE(key.output.find("training.precision"), std::string::npos) << key.output;

  for (const char* bad : {"0", "-2", "two", "3x", ""}) {
    setenv("NABLA_NUM_THREADS", bad, 1);
    Result r = run("summary " + config("tiny_gpt.json"));
    unsetenv("NABLA_NUM_THREADS");
    if (*bad == '\0') {  // empty means unset: all cores
      EXPECT_EQ(r.status, 0) << r.output;
      continue;
    }
    EXPECT_NE(r.status, 0) << bad;
    EXPECT_NE(r.output.find("NABLA_NUM_THREADS=\"" + std::string(bad) + "\" is not a positive thread count"),
              std::string::npos)
        << r.output;
    EXPECT_EQ(r.output.find("Model:"), std::string::npos) << "nothing runs before the check: " << r.output;
  }
}

TEST_F(Cli, SummaryPrintsLayersAndParameterCounts) {
  Result summary = run("summary " + std::string(NABLA_SOURCE_DIR "/configs/fashion_cnn.json"));
  ASSERT_EQ(summary.status, 0) << summary.output;
  EXPECT_NE(summary.output.find("225,034"), std::string::npos) << summary.output;  // Keras' count for this CNN
}

TEST_F(Cli, BenchTimesTrainingInferenceAndGeneration) {
  for (const char* mode : {"train", "infer", "generate"}) {
    Result r =
        run("bench " + config("tiny_gpt.json") + " --json --steps 2 --warmup 1 --tokens 8 --threads 1 --mode " + mode);
    ASSERT_EQ(r.status, 0) << r.output;
    const nlohmann::json j = nlohmann::json::parse(r.output.substr(r.output.rfind("{")));
    EXPECT_EQ(j.at("mode"), mode);
    EXPECT_EQ(j.at("batch").get<int>(), std::string(mode) == "generate" ? 1 : 16);
    EXPECT_GT(j.at("median_s").get<double>(), 0);
    EXPECT_LE(j.at("min_s").get<double>(), j.at("max_s").get<double>());
    EXPECT_GT(j.at("peak_rss_mb").get<double>(), 1);
    // Tokens per second follow from the timing: 16 windows of 32 tokens, or 8 generated tokens.
    const double tokens = std::string(mode) == "generate" ? 8 : 16 * 32;
    EXPECT_NEAR(j.at("tokens_per_s").get<double>(), tokens / j.at("median_s").get<double>(), 1e-6 * tokens);
  }
  Result peak = run("bench --peak --json --threads 1");
  ASSERT_EQ(peak.status, 0) << peak.output;
  EXPECT_GT(nlohmann::json::parse(peak.output).at("peak_fp32_gflops").get<double>(), 1.0);

  // The work of one step, as the kernels count it: the Keras CNN at batch 8 (conv 1->32 on 28x28,
  // conv 32->64 on 13x13, dense 1600->128->10). Training runs every pass three times (forward,
  // input and weight gradients) except the first conv's input gradient, which nothing needs.
  const double conv1 = 2.0 * 8 * 32 * 26 * 26 * 9, conv2 = 2.0 * 8 * 64 * 11 * 11 * 288,
               dense = 2.0 * 8 * (1600 * 128 + 128 * 10);
  for (const char* mode : {"train", "infer"}) {
    Result r =
        run("bench " + config("tiny_cnn.json") + " --json --batch 8 --steps 1 --warmup 0 --threads 1 --mode " + mode);
    ASSERT_EQ(r.status, 0) << r.output;
    const double expected = std::string(mode) == "train" ? 2 * conv1 + 3 * conv2 + 3 * dense : conv1 + conv2 + dense;
    EXPECT_DOUBLE_EQ(nlohmann::json::parse(r.output.substr(r.output.rfind("{"))).at("step_flops").get<double>(),
                     expected)
        << mode;
  }

  Result not_lm = run("bench " + config("tiny_cnn.json") + " --mode generate --steps 1");
  EXPECT_NE(not_lm.status, 0);
  EXPECT_NE(not_lm.output.find("is not a language model"), std::string::npos) << not_lm.output;
  Result too_big = run("bench " + config("tiny_gpt.json") + " --batch 100000 --steps 1");
  EXPECT_NE(too_big.status, 0);
  EXPECT_NE(too_big.output.find("fewer than the batch of 100000"), std::string::npos) << too_big.output;
}
