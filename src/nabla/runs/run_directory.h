// A run directory belongs to one run and is used by one process at a time. Claiming it for a new
// run refuses a directory that already holds one (unless told to replace it, which moves the old
// run aside first); claiming it for resuming needs one. While claimed, an exclusive lock on
// RUN/.lock (flock: the kernel drops it when the process ends, even by SIGKILL) keeps a second
// process out, and the message names the process that holds it.
#pragma once
#include <string>
#include <vector>

namespace nabla::runs {

// The files of `dir` a new run would write over: config.json, history.csv, checkpoints/, ...;
// empty for a directory that holds no run.
std::vector<std::string> run_files_in(const std::string& dir);

// The checks a new run's claim makes before it touches anything, for callers that want them before
// expensive work (loading data): `dir` must not hold a run unless `overwrite`.
void check_new_run(const std::string& dir, bool overwrite);

class RunDirectory {
 public:
  enum class Purpose { new_run, resume };

  // Claims `path` (creating it and checkpoints/ for a new run). A new run into a directory that
  // holds one is an error pointing at --resume, --out and --overwrite; with `overwrite` the old
  // run is first renamed to PATH.replaced-N (replaced_run() says where). Errors happen before
  // anything is written.
  RunDirectory(const std::string& path, Purpose purpose, bool overwrite = false);
  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  const std::string& path() const { return path_; }
  const std::string& replaced_run() const { return replaced_; }

 private:
  std::string path_, replaced_;
  int lock_fd_ = -1;
};

}  // namespace nabla::runs
