// What the runs tests share: a fresh directory per test and quiet run options for it.
#pragma once
#include <filesystem>
#include <string>

#include "nabla/runs/train_run.h"

namespace nabla::test_support {

// temp/<suite>/<name>, emptied.
inline std::filesystem::path fresh_run_dir(const std::string& suite, const std::string& name) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / suite / name;
  std::filesystem::remove_all(dir);
  return dir;
}

// Options for a run into `dir` that prints no progress.
inline runs::TrainRunOptions quiet_run(const std::filesystem::path& dir) {
  runs::TrainRunOptions options;
  options.out_dir = dir.string();
  options.verbose = 0;
  return options;
}

}  // namespace nabla::test_support
