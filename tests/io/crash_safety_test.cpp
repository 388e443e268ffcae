// Crash safety of checkpoints: a writer killed (SIGKILL) at random moments of repeated saves always
// leaves a complete checkpoint whose every part comes from one save; a full disk and a read-only
// output directory are clear errors that leave the previous checkpoint as it was.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "nabla/io/checkpoint.h"
#include "nabla/nabla.h"

using namespace nabla;
namespace fs = std::filesystem;

namespace {

fs::path fresh(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("nabla_crash_" + std::to_string(getpid())) / name;
  fs::remove_all(dir.parent_path());
  fs::create_directories(dir.parent_path());
  return dir;
}

// Every part of the checkpoint carries the same k (see tests/helpers/checkpoint_writer.cpp).
int64_t consistent_k(const io::Checkpoint& c) {
  const int64_t k = c.state.at("epoch").get<int64_t>();
  EXPECT_EQ(c.state.at("step").get<int64_t>(), 10 * k);
  EXPECT_EQ(c.config.at("k").get<int64_t>(), k);
  for (const char* name : {"weight", "bias"})
    for (float v : c.model.at(name).to_vector<float>()) EXPECT_EQ(v, float(k)) << name;
  for (float v : c.optimizer.at("exp_avg").to_vector<float>()) EXPECT_EQ(v, -float(k));
  return k;
}

io::Checkpoint sample(float value, int64_t size) {
  io::Checkpoint c;
  c.model = {{"w", full({size}, value)}};
  c.state = {{"epoch", int(value)}};
  return c;
}

}  // namespace

TEST(CrashSafety, KilledAtRandomDuringRepeatedSavesTheLastCompleteCheckpointLoads) {
  const fs::path dir = fresh("kill") / "last";
  const std::string writer = NABLA_BINARY_DIR "/tests/checkpoint_writer";
  ASSERT_TRUE(fs::exists(writer)) << writer;
  // How long one save takes here, so the kills land inside saves, not between them.
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    io::Checkpoint c;
    c.model = {{"weight", full({256, 64}, 1.0)}, {"bias", full({64}, 1.0)}};
    c.optimizer = {{"exp_avg", full({256, 64}, -1.0)}};
    io::save_checkpoint((dir.parent_path() / "timing").string(), c);
  }
  const double save_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 5;
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> delay(0, 3 * save_us);
  const int trials = 200;
  int64_t highest = 0;
  for (int trial = 0; trial < trials; ++trial) {
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      dup2(pipe_fds[1], STDOUT_FILENO);
      close(pipe_fds[0]);
      execl(writer.c_str(), writer.c_str(), dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(pipe_fds[1]);
    char ready[6] = {};
    ASSERT_EQ(read(pipe_fds[0], ready, 6), 6) << "the writer did not start";  // "ready\n": one save is whole
    std::this_thread::sleep_for(std::chrono::duration<double, std::micro>(delay(rng)));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(pipe_fds[0]);
    ASSERT_TRUE(io::checkpoint_exists(dir.string())) << "trial " << trial;
    const io::Checkpoint loaded = io::load_checkpoint(dir.string());
    const int64_t k = consistent_k(loaded);
    ASSERT_GE(k, 1) << "trial " << trial;
    highest = std::max(highest, k);
    if (::testing::Test::HasFailure()) FAIL() << "trial " << trial << " loaded an inconsistent checkpoint";
  }
  EXPECT_GT(highest, 1) << "the kills never landed after a first save";
  std::printf("%d kill trials, every one left a complete checkpoint (saves of up to k = %lld; one save %.0f us)\n",
              trials, static_cast<long long>(highest), save_us);
}

TEST(CrashSafety, ADiskFullSaveIsAClearErrorAndKeepsThePreviousCheckpoint) {
  const fs::path dir = fresh("full") / "last";
  io::save_checkpoint(dir.string(), sample(1, 10));
  // The file-size limit makes writes fail as a full disk does (EFBIG instead of ENOSPC).
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &previous);
  rlimit old_limit{};
  getrlimit(RLIMIT_FSIZE, &old_limit);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    io::save_checkpoint(dir.string(), sample(2, 100000));  // 400 KB of weights
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  sigaction(SIGXFSZ, &previous, nullptr);
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("disk full"), std::string::npos) << message;
  const io::Checkpoint kept = io::load_checkpoint(dir.string());
  EXPECT_EQ(kept.state.at("epoch").get<int>(), 1);
  EXPECT_EQ(kept.model.at("w").to_vector<float>(), std::vector<float>(10, 1.0f));
  EXPECT_FALSE(fs::exists(dir.parent_path() / "last.tmp")) << "a failed save cleans up after itself";
}

TEST(CrashSafety, AReadOnlyOutputDirectoryIsAClearErrorAndKeepsThePreviousCheckpoint) {
  const fs::path mount_point = fresh("readonly");
  fs::create_directories(mount_point);
  // A read-only filesystem holding a checkpoint: tmpfs remounted read-only (as root), or a
  // directory without write permission (as anyone else).
  const bool root = geteuid() == 0;
  if (root) {
    ASSERT_EQ(mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=4m"), 0) << std::strerror(errno);
  }
  const fs::path dir = mount_point / "last";
  io::save_checkpoint(dir.string(), sample(1, 10));
  if (root) {
    ASSERT_EQ(mount(nullptr, mount_point.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0) << std::strerror(errno);
  } else {
    fs::permissions(mount_point, fs::perms::owner_read | fs::perms::owner_exec);
  }
  std::string message;
  try {
    io::save_checkpoint(dir.string(), sample(2, 10));
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find(mount_point.string()), std::string::npos) << message;
  EXPECT_NE(message.find("writable"), std::string::npos) << message;
  EXPECT_EQ(io::load_checkpoint(dir.string()).state.at("epoch").get<int>(), 1);
  if (root)
    umount(mount_point.c_str());
  else
    fs::permissions(mount_point, fs::perms::owner_all);
}
