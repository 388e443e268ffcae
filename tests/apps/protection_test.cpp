// What a user can lose or break from the command line, tried as a hostile user would: a finished
// run is never replaced without being told, two processes never share a run directory, resuming
// never rewrites finished epochs' logs, what a config can tell fails before any work (and leaves no
// run directory), and crafted or special files give errors, never crashes or endless reads.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "../run_command.h"

namespace fs = std::filesystem;

namespace {

using nabla::test_support::file_text;
using Result = nabla::test_support::CommandResult;

Result run(const std::string& args) {
  return nabla::test_support::run_command(std::string(NABLA_BINARY_DIR "/bin/nabla ") + args);
}

std::string config(const std::string& name) { return std::string(NABLA_SOURCE_DIR "/tests/apps/") + name; }

// The articles' neuron for three epochs: a whole run in a fraction of a second.
const std::string kNeuron = std::string(NABLA_SOURCE_DIR "/configs/neuron.json") + " --set training.epochs=3";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every file under dir with its content, to show that a refused command changed nothing.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename() != ".lock")
      files[fs::relative(entry.path(), dir).string()] = file_text(entry.path().string());
  return files;
}

int64_t lines_of(const std::string& file) {
  const std::string text = file_text(file);
  return std::count(text.begin(), text.end(), '\n');
}

using Protection = nabla::test_support::ScratchDirTest;

}  // namespace

TEST_F(Protection, AFinishedRunIsNeverReplacedWithoutBeingTold) {
  const std::string out = path("run");
  ASSERT_EQ(run("train " + kNeuron + " --out " + out + " --verbose 0").status, 0);
  const auto before = snapshot(out);
  ASSERT_TRUE(before.count("config.json") && before.count("checkpoints/best/model.safetensors"));

  Result again = run("train " + kNeuron + " --out " + out + " --verbose 0");
  EXPECT_NE(again.status, 0);
  EXPECT_TRUE(contains(again.output, out + " already holds a run")) << again.output;
  EXPECT_TRUE(contains(again.output, "nabla train --resume " + out)) << again.output;
  EXPECT_TRUE(contains(again.output, "--overwrite")) << again.output;
  EXPECT_EQ(snapshot(out), before) << "a refused run changed the old one";

  Result empty = run("train " + kNeuron + " --out \"\"");
  EXPECT_NE(empty.status, 0);
  EXPECT_TRUE(contains(empty.output, "--out is empty")) << empty.output;
  Result both = run("train --resume " + out + " --overwrite");
  EXPECT_NE(both.status, 0);

  // --overwrite moves the old run aside whole, then trains afresh.
  Result overwrite = run("train " + kNeuron + " --set seed=7 --out " + out + " --overwrite --verbose 0");
  ASSERT_EQ(overwrite.status, 0) << overwrite.output;
  EXPECT_TRUE(contains(overwrite.output, "moved the run that was in " + out + " to " + out + ".replaced-1"))
      << overwrite.output;
  auto moved = snapshot(out + ".replaced-1");
  moved.erase("log.txt");  // the old run's log, which the new run no longer appends to
  auto old_files = before;
  old_files.erase("log.txt");
  EXPECT_EQ(moved, old_files);
  EXPECT_NE(file_text(out + "/config.json"), before.at("config.json"));  // the new run, seed 7
  fs::remove_all(out + ".replaced-1");
}

TEST_F(Protection, ADamagedLastCheckpointPointsAtWhatIsLeftAndChangesNothing) {
  const std::string out = path("run");
  ASSERT_EQ(run("train " + kNeuron + " --out " + out + " --verbose 0").status, 0);
  {  // one byte of the weights flipped: the checksum in state.json no longer matches
    std::fstream f(out + "/checkpoints/last/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  const auto before = snapshot(out);
  Result resume = run("train --resume " + out + " --set training.epochs=5");
  EXPECT_NE(resume.status, 0);
  EXPECT_TRUE(contains(resume.output, "checkpoints/last cannot be resumed")) << resume.output;
  EXPECT_TRUE(contains(resume.output, "model.safetensors")) << resume.output;
  EXPECT_TRUE(contains(resume.output, "checkpoints/best is intact")) << resume.output;
  EXPECT_FALSE(contains(resume.output, "--out " + out)) << "never advise training into the damaged run itself";
  EXPECT_EQ(snapshot(out), before);
  EXPECT_EQ(run("eval " + out + " --split train").status, 0) << "checkpoints/best still serves";
}

TEST_F(Protection, TwoProcessesNeverShareARunDirectory) {
  const std::string out = path("run");
  const pid_t child = fork();
  if (child == 0) {
    const std::string command = "exec " NABLA_BINARY_DIR "/bin/nabla train " + config("tiny_gpt.json") +
                                " --set training.epochs=50 --verbose 0 --threads 1 --out " + out + " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 6000 && lines_of(out + "/steps.csv") < 3; ++i) usleep(5000);
  ASSERT_GE(lines_of(out + "/steps.csv"), 3) << "the first run did not start";

  Result second = run("train --resume " + out + " --verbose 0");
  EXPECT_NE(second.status, 0);
  EXPECT_TRUE(contains(second.output, out + " is in use by another nabla process (pid " + std::to_string(child) + ")"))
      << second.output;
  Result replace = run("train " + config("tiny_gpt.json") + " --out " + out + " --overwrite --verbose 0");
  EXPECT_NE(replace.status, 0);
  EXPECT_TRUE(contains(replace.output, "is in use by another nabla process")) << replace.output;
  EXPECT_FALSE(fs::exists(out + ".replaced-1")) << "a running run was moved from under its process";

  // SIGKILL leaves no stale lock: the kernel drops it with the process.
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  Result after = run("train --resume " + out + " --set training.epochs=1 --verbose 0");
  EXPECT_FALSE(contains(after.output, "in use by")) << after.output;
}

TEST_F(Protection, ResumingWithFewerStepsPerEpochKeepsFinishedEpochsLogs) {
  const std::string out = path("run");
  const std::string args = config("tiny_gpt.json") + " --set training.steps_per_epoch=6 --verbose 0 --threads 1";
  ASSERT_EQ(run("train " + args + " --out " + out).status, 0);
  const std::string steps = file_text(out + "/steps.csv"), history = file_text(out + "/history.csv");
  ASSERT_EQ(lines_of(out + "/steps.csv"), 1 + 2 * 6);

  Result more = run("train --resume " + out + " --set training.epochs=3 --set training.steps_per_epoch=3 --verbose 0");
  ASSERT_EQ(more.status, 0) << more.output;
  const std::string steps_after = file_text(out + "/steps.csv"), history_after = file_text(out + "/history.csv");
  EXPECT_EQ(steps_after.compare(0, steps.size(), steps), 0) << "finished epochs' step rows were rewritten";
  EXPECT_EQ(history_after.compare(0, history.size(), history), 0) << "finished epochs' history rows were rewritten";
  EXPECT_EQ(lines_of(out + "/steps.csv"), 1 + 2 * 6 + 3);
  EXPECT_TRUE(contains(steps_after, "\n13,3,")) << steps_after;  // the step count continues
}

TEST_F(Protection, WhatAConfigCanTellFailsBeforeWorkAndLeavesNoRunDirectory) {
  struct Case {
    std::string args, message;
  };
  std::ofstream(path("labels.csv")) << "x,y\n0.5,1\n0.25,0\n1.5,-1\n";
  const Case cases[] = {
      {config("tiny_gpt.json") + " --set data.seq_len=48", "data.seq_len (48) is longer than model.context (32)"},
      {config("tiny_gpt.json") + " --set training.checkpoint_monitor=val_acc",
       "training.checkpoint_monitor: \"val_acc\" is not logged by this run"},
      {kNeuron + " --set training.checkpoint_monitor=val_loss", "it has no validation set"},
      {kNeuron + " --set data.dataset=csv --set data.path=" + path("labels.csv") + " --set data.label=y" +
           " --set model.type=mlp --set training.loss=sparse_categorical_crossentropy",
       "labels.csv:4:5: class label -1"},
      {kNeuron + " --set training.epochs=3000000000", "expected an integer in [1, 1000000], got 3000000000"},
      {kNeuron + " --set training.batch_size=9223372036854775807", "training.batch_size: expected an integer in"},
      {config("tiny_cnn.json") + " --set model.type=rnn_classifier --set model.cell=transformer",
       "model.cell: expected one of \"rnn\", \"lstm\", \"gru\", got \"transformer\""},
      {kNeuron + " --set model.init=tensorflow",
       "model.init: expected one of \"pytorch\", \"keras\", got \"tensorflow\""},
      {kNeuron + " --set training.early_stopping.monitor=val_accuracy",
       "training.early_stopping.monitor: \"val_accuracy\" is not logged by this run"},
      {kNeuron + " --set training.early_stopping.mode=lowest",
       "training.early_stopping.mode: expected one of \"auto\", \"min\", \"max\", got \"lowest\""},
      {kNeuron + " --set model.initial_weights=" + path("missing.safetensors"),
       "model.initial_weights \"" + path("missing.safetensors") + "\""},
      {kNeuron + " --set data.split=first", "data.split"},
      {kNeuron + " --set data.validation_split=0.34 --set training.early_stopping.restore_best_weights=true" +
           " --set training.checkpoint_monitor=loss",
       "the best weights are those of training.checkpoint_monitor (\"loss\"), but early stopping watches \"val_loss\""},
  };
  for (const Case& c : cases) {
    const std::string out = path("never");
    Result r = run("train " + c.args + " --out " + out);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_TRUE(contains(r.output, c.message)) << c.args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(out)) << "a failed start left " << out << " behind: " << c.args;
  }
}

TEST_F(Protection, CraftedAndSpecialFilesAreErrorsNotCrashesOrEndlessReads) {
  const std::string out = path("cnn");
  Result cnn = run("train " + config("tiny_cnn.json") +
                   " --set training.epochs=1 --set training.steps_per_epoch=2 --verbose 0 --out " + out);
  ASSERT_EQ(cnn.status, 0) << cnn.output;

  // Image headers whose sizes overflow, or are just absurd.
  std::ofstream(path("huge.pgm"), std::ios::binary) << "P5\n4294967296 4294967296\n255\n";
  std::ofstream(path("wrap.pgm"), std::ios::binary) << "P5\n9223372036854775807 2\n255\n";
  for (const char* image : {"huge.pgm", "wrap.pgm"}) {
    Result r = run("predict " + out + " " + path(image));
    EXPECT_NE(r.status, 0) << image;
    EXPECT_TRUE(contains(r.output, "is too large") || contains(r.output, "bad PGM size")) << r.output;
    EXPECT_EQ(r.status, 1) << "an error, not a crash: " << r.output;
  }

  // Special files as data: refused at once, never read forever or waited on.
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  for (const std::string& special : {std::string("/dev/zero"), path("fifo"), dir_.string()}) {
    const auto start = std::chrono::steady_clock::now();
    Result r = run("train " + kNeuron + " --set data.dataset=text_lm --set data.path=" + special +
                   " --set model.type=gpt --out " + path("text"));
    EXPECT_NE(r.status, 0) << special;
    EXPECT_TRUE(contains(r.output, "is a device") || contains(r.output, "is a FIFO") ||
                contains(r.output, "is a directory"))
        << r.output;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << special;
  }

  // A config nested deeper than any real one.
  std::ofstream(path("deep.json")) << std::string(100000, '[') << std::string(100000, ']');
  Result deep = run("train " + path("deep.json") + " --out " + path("deep"));
  EXPECT_EQ(deep.status, 1) << deep.output;
  EXPECT_TRUE(contains(deep.output, "nested more than 64 levels")) << deep.output;
  Result deep_set = run("train " + kNeuron + " --set " + std::string(1000, 'a') + std::string(1000, '.') + "b=1");
  EXPECT_EQ(deep_set.status, 1) << deep_set.output;
}

TEST_F(Protection, CommandLineValuesAreCheckedWithPlainMessages) {
  const std::string out = path("run");
  ASSERT_EQ(run("train " + kNeuron + " --out " + out + " --verbose 0").status, 0);
  Result zero = run("generate " + out + " -n 0");
  EXPECT_NE(zero.status, 0);
  EXPECT_TRUE(contains(zero.output, "must be at least 1, got 0")) << zero.output;
  EXPECT_FALSE(contains(zero.output, "e+308")) << zero.output;
  Result nan = run("generate " + out + " --temperature nan");
  EXPECT_NE(nan.status, 0);
  EXPECT_TRUE(contains(nan.output, "expected a number, got NaN")) << nan.output;
  Result seed = run("train " + kNeuron + " --seed -3 --out " + path("seeded"));
  EXPECT_NE(seed.status, 0);
  EXPECT_TRUE(contains(seed.output, "must be at least 0, got -3")) << seed.output;

  setenv("NABLA_NUM_THREADS", "5000", 1);
  Result threads = run("summary " + config("tiny_gpt.json"));
  unsetenv("NABLA_NUM_THREADS");
  EXPECT_NE(threads.status, 0);
  EXPECT_TRUE(contains(threads.output, "is more than the 1024 threads nabla runs")) << threads.output;

  Result directory = run("predict " + out + " " + dir_.string());
  EXPECT_NE(directory.status, 0);
  EXPECT_TRUE(contains(directory.output, "is a directory")) << directory.output;
}

// A checkpoint that would pass the file-size limit (ulimit -f): an error naming the limit, and
// no half-written checkpoint or temporary file left behind.
TEST_F(Protection, AWriteOverTheFileSizeLimitIsAnErrorAndLeavesNothingHalfWritten) {
  const std::string out = path("run");
  Result r = nabla::test_support::run_command("ulimit -f 64; exec " NABLA_BINARY_DIR "/bin/nabla train " +
                                              config("tiny_gpt.json") + " --verbose 0 --threads 1 --out " + out);
  EXPECT_EQ(r.status, 1) << "an error, not death by SIGXFSZ: " << r.output;
  EXPECT_TRUE(contains(r.output, "File too large")) << r.output;
  EXPECT_TRUE(contains(r.output, "ulimit -f")) << r.output;
  for (const auto& entry : fs::recursive_directory_iterator(out))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << "left behind: " << entry.path();
}
