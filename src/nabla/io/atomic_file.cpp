#include "nabla/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "nabla/core/error.h"

namespace nabla::io {

void write_all(int fd, const void* data, size_t size, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : ENOSPC;
      fail("cannot write ", path, ": ", std::strerror(error),
           error == EFBIG ? " (the disk full for this file: the file-size limit, ulimit -f, is too small for it)"
                          : " (is the disk full or read-only?)");
    }
    p += n;
    size -= size_t(n);
  }
}

void write_file_atomically(const std::string& path, const std::function<void(int fd)>& write) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp = (dir / "").string();
  temp += ".";
  temp += target.filename().string();
  temp += ".tmp.XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0)
    fail("cannot create a file in ", dir.string(), ": ", std::strerror(errno),
         " (does the directory exist and is it writable?)");
  try {
    write(fd);
    if (::fsync(fd) != 0) fail("cannot flush ", path, ": ", std::strerror(errno));
    if (::close(fd) != 0) {
      fd = -1;
      fail("cannot close ", path, ": ", std::strerror(errno));
    }
    fd = -1;
    if (::rename(temp.c_str(), path.c_str()) != 0)
      fail("cannot rename ", temp, " to ", path, ": ", std::strerror(errno));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  // Make the rename itself durable.
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace nabla::io
