#include "nabla/runs/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "nabla/core/error.h"

namespace nabla::runs {
namespace fs = std::filesystem;
namespace {

// What train writes into a run directory; any of them present means the directory holds a run.
const char* const kRunFiles[] = {"config.json", "history.csv", "steps.csv", "results.json",
                                 "log.txt",     "checkpoints", "plots"};

// Takes the exclusive lock on dir/.lock, or fails naming the process that holds it.
int lock_run(const fs::path& dir) {
  const fs::path file = dir / ".lock";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  NABLA_CHECK(fd >= 0, "cannot open the lock file ", file.string(), ": ", std::strerror(errno),
              " (is the run directory writable?)");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    std::string holder;
    std::ifstream(file) >> holder;
    ::close(fd);
    NABLA_CHECK(error != EWOULDBLOCK, dir.string(), " is in use by another nabla process",
                holder.empty() ? std::string() : " (pid " + holder + ")",
                "; wait for it to finish or stop it, or train into another directory with --out");
    fail("cannot lock ", file.string(), ": ", std::strerror(error));
  }
  // Our pid, for the message another process shows; the lock, not the file's content, is what counts.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::write(fd, pid.data(), pid.size());
  }
  return fd;
}

// PATH.replaced-1, -2, ...: the first that does not exist.
fs::path free_sibling(const fs::path& dir) {
  fs::path clean = dir.filename().empty() ? dir.parent_path() : dir;
  for (int n = 1;; ++n) {
    fs::path candidate = clean.parent_path() / (clean.filename().string() + ".replaced-" + std::to_string(n));
    if (!fs::exists(candidate)) return candidate;
  }
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::vector<std::string> run_files_in(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const char* name : kRunFiles)
    if (fs::exists(fs::path(dir) / name, ec)) found.push_back(name);
  return found;
}

void check_new_run(const std::string& path, bool overwrite) {
  NABLA_CHECK(!path.empty(), "train: the run directory is empty; give one with --out DIR");
  std::error_code ec;
  NABLA_CHECK(!fs::exists(path, ec) || fs::is_directory(path, ec), path,
              " exists and is not a directory; give a directory for the run with --out");
  const std::vector<std::string> existing = run_files_in(path);
  NABLA_CHECK(existing.empty() || overwrite, path, " already holds a run (", joined(existing),
              "); nothing was changed. Continue it with `nabla train --resume ", path,
              "`, train into another directory with --out, or replace it with --overwrite (the old run is moved "
              "aside to ",
              free_sibling(path).string(), ")");
}

RunDirectory::RunDirectory(const std::string& path, Purpose purpose, bool overwrite) : path_(path) {
  NABLA_CHECK(!path.empty(), "train: the run directory is empty; give one with --out DIR");
  const fs::path dir(path);
  std::error_code ec;
  if (purpose == Purpose::resume) {
    NABLA_CHECK(fs::is_directory(dir, ec), "--resume ", path, ": no such run directory");
    lock_fd_ = lock_run(dir);
    return;
  }
  check_new_run(path, overwrite);
  if (!run_files_in(path).empty()) {
    // Lock the old run first: one that is training must not be moved from under its process.
    const int old_lock = lock_run(dir);
    const fs::path aside = free_sibling(dir);
    fs::rename(dir, aside, ec);
    ::close(old_lock);
    NABLA_CHECK(!ec, "--overwrite: cannot move the old run ", path, " aside to ", aside.string(), ": ", ec.message());
    replaced_ = aside.string();
  }
  fs::create_directories(dir / "checkpoints", ec);
  NABLA_CHECK(!ec, "train: cannot create the run directory ", path, ": ", ec.message(),
              "; give a writable --out (is the disk read-only or full?)");
  lock_fd_ = lock_run(dir);
  // Between the check and the lock another process may have started a run here.
  const std::vector<std::string> raced = run_files_in(path);
  NABLA_CHECK(raced.size() == 1 && raced[0] == "checkpoints", path,
              " was claimed by another process while this one started; train into another directory");
}

RunDirectory::~RunDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the flock
}

}  // namespace nabla::runs
