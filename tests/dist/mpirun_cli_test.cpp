// `mpirun -np 2 nabla train ...` end to end: one report and one set of files for the job, resume
// on a different number of processes, a rank started with a different config failing at start,
// a rank killed mid-run ending the whole job within seconds instead of hanging, and Ctrl-C on
// mpirun stopping every rank at the same step with a checkpoint that resumes bit for bit.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "../run_command.h"

namespace fs = std::filesystem;

namespace {

const std::string nabla_binary = NABLA_BINARY_DIR "/bin/nabla";
const std::string tiny_cnn = NABLA_SOURCE_DIR "/tests/apps/tiny_cnn.json";
const std::string tiny_gpt = NABLA_SOURCE_DIR "/tests/apps/tiny_gpt.json";
const std::string mpirun = std::string(MPIRUN) + " --allow-run-as-root --oversubscribe -x NABLA_NUM_THREADS=1 ";

using nabla::test_support::file_text;
using Result = nabla::test_support::CommandResult;

Result run(const std::string& command) { return nabla::test_support::run_command(command); }

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

using MpirunCli = nabla::test_support::ScratchDirTest;

// The pid of the process whose command line contains `marker` and whose environment says it is
// MPI rank `rank`, or -1.
pid_t find_rank(const std::string& marker, int rank) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = file_text(entry.path() / "cmdline"), environ = file_text(entry.path() / "environ");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.rfind(nabla_binary, 0) == 0 && cmdline.find(marker) != std::string::npos &&
        environ.find(std::string("OMPI_COMM_WORLD_RANK=") + std::to_string(rank) + '\0') != std::string::npos)
      return pid_t(std::stoi(name));
  }
  return -1;
}

}  // namespace

TEST_F(MpirunCli, TrainsOnTwoRanksWithOneReportThenResumesOnOneProcess) {
  const std::string out = path("cnn");
  Result two = run(mpirun + "-np 2 " + nabla_binary + " train " + tiny_cnn + " --set training.epochs=1 --out " + out +
                   " --verbose 2 --global-batch 64");
  ASSERT_EQ(two.status, 0) << two.output;
  EXPECT_NE(two.output.find("on 2 ranks x 32 = 64 samples per step"), std::string::npos) << two.output;
  EXPECT_EQ(count(two.output, "Epoch 1/1"), 1u) << "only rank 0 reports:\n" << two.output;
  EXPECT_EQ(count(two.output, "test:"), 1u) << two.output;
  for (const char* file : {"config.json", "history.csv", "steps.csv", "results.json",
                           "checkpoints/last/model.safetensors", "plots/loss.png", "plots/confusion_matrix.png"})
    EXPECT_TRUE(fs::exists(out + "/" + file)) << file;
  const std::string history = file_text(out + "/history.csv");
  EXPECT_EQ(count(history, "\n"), 2u) << "a header and one epoch, written once:\n" << history;
  // 2700 training samples at 64 per step: 43 steps, logged once each.
  EXPECT_EQ(count(file_text(out + "/steps.csv"), "\n"), 44u);

  // The checkpoint holds the whole model: one process continues it.
  Result one = run(nabla_binary + " train --resume " + out + " --set training.epochs=2 --verbose 2 --threads 2");
  ASSERT_EQ(one.status, 0) << one.output;
  EXPECT_NE(one.output.find("Epoch 2/2"), std::string::npos) << one.output;
  EXPECT_EQ(count(file_text(out + "/history.csv"), "\n"), 3u);
  std::ifstream results(out + "/results.json");
  const std::string text((std::istreambuf_iterator<char>(results)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("accuracy"), std::string::npos);

  Result odd = run(mpirun + "-np 2 " + nabla_binary + " train " + tiny_cnn + " --global-batch 33 --out " + path("odd"));
  EXPECT_NE(odd.status, 0);
  EXPECT_NE(odd.output.find("--global-batch 33 does not divide among 2 ranks"), std::string::npos) << odd.output;
}

TEST_F(MpirunCli, ARankWithADifferentConfigFailsAtStartNamingTheKey) {
  const std::string common = " train " + tiny_cnn + " --out " + path("run") + " --verbose 0";
  const auto start = std::chrono::steady_clock::now();
  Result r = run(mpirun + "-np 1 " + nabla_binary + common + " : -np 1 " + nabla_binary + common +
                 " --set training.batch_size=16");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("the config differs between ranks: rank 1 has training.batch_size = 16 where rank 0 has "
                          "training.batch_size = 32"),
            std::string::npos)
      << r.output;
  EXPECT_LT(seconds, 30) << "it must fail at start, not after training";
  EXPECT_FALSE(fs::exists(path("run") + "/checkpoints/last")) << "nothing trained";
}

TEST_F(MpirunCli, AKilledRankEndsTheJobWithinSecondsWithAClearError) {
  const std::string out = path("gpt"), log = path("mpirun.log");
  const std::string command = "exec " + mpirun + "-np 2 " + nabla_binary + " train " + tiny_gpt +
                              " --set training.epochs=200 --out " + out + " --verbose 0 > " + log + " 2>&1";
  const pid_t launcher = fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until training is under way (rank 0 logs steps), then kill rank 1 outright.
  pid_t victim = -1;
  for (int i = 0; i < 600 && victim < 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (count(file_text(out + "/steps.csv"), "\n") > 5) victim = find_rank(out, 1);
  }
  ASSERT_GT(victim, 0) << "rank 1 never started training:\n" << file_text(log);
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  const auto killed = std::chrono::steady_clock::now();
  int status = 0;
  bool ended = false;
  while (!ended && std::chrono::steady_clock::now() - killed < std::chrono::seconds(60)) {
    ended = waitpid(launcher, &status, WNOHANG) == launcher;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  if (!ended) {
    kill(launcher, SIGKILL);
    waitpid(launcher, &status, 0);
  }
  ASSERT_TRUE(ended) << "the job hung after a rank died:\n" << file_text(log);
  std::cout << "the job ended " << seconds << " s after rank 1 was killed\n";
  EXPECT_LT(seconds, 10);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << file_text(log);
  const std::string text = file_text(log);
  EXPECT_NE(text.find("signal 9"), std::string::npos) << "mpirun names the dead rank and its signal:\n" << text;
  EXPECT_EQ(find_rank(out, 0), -1) << "rank 0 must not outlive the job";
}

// Ctrl-C on mpirun: it passes SIGTERM to every rank, the ranks agree to stop after the same step
// and rank 0 saves where the job was; `mpirun ... --resume` then ends exactly as an uninterrupted job.
TEST_F(MpirunCli, ASignalStopsEveryRankAtOneStepAndTheJobResumesBitIdentically) {
  // 1200 steps, signalled after 50: mpirun passes the signal on only after a second, and the job
  // must still be running then (at 600 steps, signalled after 250, it sometimes had finished).
  const std::string args =
      " train " + tiny_gpt + " --set training.epochs=6 --set training.steps_per_epoch=200 --verbose 0";
  const std::string whole = path("whole"), stopped = path("stopped"), log = path("stopped.log");
  Result reference = run(mpirun + "-np 2 " + nabla_binary + args + " --out " + whole);
  ASSERT_EQ(reference.status, 0) << reference.output;

  const std::string command =
      "exec " + mpirun + "-np 2 " + nabla_binary + args + " --out " + stopped + " > " + log + " 2>&1";
  const pid_t launcher = fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool under_way = false;
  for (int i = 0; i < 1200 && !under_way; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    under_way = count(file_text(stopped + "/steps.csv"), "\n") > 50;
  }
  ASSERT_TRUE(under_way) << file_text(log);
  ASSERT_EQ(kill(launcher, SIGINT), 0);
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 1200 && !ended; ++i) {
    ended = waitpid(launcher, &status, WNOHANG) == launcher;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (!ended) {
    kill(launcher, SIGKILL);
    waitpid(launcher, &status, 0);
  }
  ASSERT_TRUE(ended) << "the job did not stop:\n" << file_text(log);
  const std::string text = file_text(log);
  ASSERT_EQ(count(text, "stopped by signal 15 at epoch "), 1u) << "rank 0 reports the stop once:\n" << text;
  ASSERT_NE(file_text(stopped + "/checkpoints/last/state.json").find("\"progress\""), std::string::npos) << text;

  Result resumed = run(mpirun + "-np 2 " + nabla_binary + " train --resume " + stopped + " --verbose 0");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  for (const char* file : {"steps.csv", "history.csv", "results.json", "checkpoints/last/model.safetensors",
                           "checkpoints/last/optimizer.safetensors"})
    EXPECT_EQ(file_text(stopped + "/" + file), file_text(whole + "/" + file)) << file;
}
