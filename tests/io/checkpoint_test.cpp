// Checkpoint directories: round trip, checksums catch corruption, and an interrupted save
// (at each point of the rename swap) still leaves a loadable checkpoint.
#include "nabla/io/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nabla/nabla.h"

using namespace nabla;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "nabla_checkpoint_test" / name;
  fs::remove_all(dir.parent_path() / (name + ".tmp"));
  fs::remove_all(dir.parent_path() / (name + ".old"));
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}
io::Checkpoint sample(float value) {
  io::Checkpoint c;
  c.config = {{"model", "mlp"}, {"layers", {784, 10}}};
  c.model = {{"0.weight", full({3, 2}, value)}, {"0.bias", zeros({3})}};
  c.optimizer = {{"state.0.0.exp_avg", ones({3, 2})}};
  c.state = {{"epoch", int(value)}, {"step", 12}};
  return c;
}
}  // namespace

TEST(Checkpoint, RoundTripsEveryPart) {
  fs::path dir = fresh_dir("roundtrip");
  io::save_checkpoint(dir.string(), sample(2));
  io::Checkpoint c = io::load_checkpoint(dir.string());
  EXPECT_EQ(c.config["model"], "mlp");
  EXPECT_EQ(c.state["epoch"], 2);
  EXPECT_EQ(c.model.at("0.weight").to_vector<float>(), std::vector<float>(6, 2.0f));
  EXPECT_EQ(c.optimizer.at("state.0.0.exp_avg").shape(), Shape({3, 2}));
  EXPECT_TRUE(c.state.contains("files"));
  // Saving again replaces it and leaves no temporary directories behind.
  io::save_checkpoint(dir.string(), sample(3));
  EXPECT_EQ(io::load_checkpoint(dir.string()).state["epoch"], 3);
  EXPECT_FALSE(fs::exists(dir.string() + ".tmp"));
  EXPECT_FALSE(fs::exists(dir.string() + ".old"));
}

TEST(Checkpoint, CorruptionIsDetectedByChecksum) {
  fs::path dir = fresh_dir("corrupt");
  io::save_checkpoint(dir.string(), sample(1));
  {
    std::fstream f(dir / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  try {
    io::load_checkpoint(dir.string());
    FAIL() << "a flipped byte must be caught";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, SaveInterruptedBetweenRenamesStillLoads) {
  fs::path dir = fresh_dir("interrupted");
  io::save_checkpoint(dir.string(), sample(1));
  // Crash after "dir -> dir.old" but before "dir.tmp -> dir": both siblings complete, no dir.
  io::save_checkpoint(dir.string() + ".tmp", sample(2));
  fs::rename(dir, dir.string() + ".old");
  EXPECT_TRUE(io::checkpoint_exists(dir.string()));
  EXPECT_EQ(io::load_checkpoint(dir.string()).state["epoch"], 2);  // the newer, complete copy
  // A half-written staging copy is ignored in favour of the previous checkpoint.
  fs::remove(fs::path(dir.string() + ".tmp") / "state.json");
  EXPECT_EQ(io::load_checkpoint(dir.string()).state["epoch"], 1);
}

TEST(Checkpoint, MissingOrUnwritableGivesClearErrors) {
  EXPECT_FALSE(io::checkpoint_exists("/nonexistent/run/last"));
  try {
    io::load_checkpoint("/nonexistent/run/last");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no complete checkpoint"), std::string::npos);
  }
  EXPECT_THROW(io::save_checkpoint("/proc/nabla-cannot-write/last", sample(1)), Error);
}
