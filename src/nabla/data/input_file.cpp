#include "nabla/data/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nabla/core/error.h"

namespace nabla::data {
namespace {

// What a non-regular file is, for the message.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

void check_stat(const struct stat& st, const std::string& path, const std::string& what, uint64_t max_bytes) {
  NABLA_CHECK(S_ISREG(st.st_mode), what, " ", path, " is ", kind_of(st.st_mode), "; give the path of a file");
  NABLA_CHECK(uint64_t(st.st_size) <= max_bytes, what, " ", path, " is ", uint64_t(st.st_size),
              " bytes, more than the ", max_bytes, " nabla reads for it");
}

// The largest depth of nested arrays and objects, with strings (and comments when allowed)
// skipped; stops counting past `limit`.
void check_depth(std::string_view text, const std::string& what, bool allow_comments) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {  // a string: skip to its closing quote
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (allow_comments && c == '/' && i + 1 < text.size() && (text[i + 1] == '/' || text[i + 1] == '*')) {
      const std::string_view end = text[i + 1] == '/' ? "\n" : "*/";
      const size_t at = text.find(end, i + 2);
      i = at == std::string_view::npos ? text.size() : at + end.size() - 1;
    } else if (c == '[' || c == '{') {
      NABLA_CHECK(++depth <= kMaxJsonDepth, what, ": JSON nested more than ", kMaxJsonDepth, " levels deep (at byte ",
                  i, "); nabla's files nest a few levels, so this is not one of them");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

}  // namespace

uint64_t check_input_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  NABLA_CHECK(!path.empty(), what, ": no path given");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) fail(what, " not found: ", path);
    fail("cannot open ", what, " ", path, ": ", std::strerror(errno));
  }
  check_stat(st, path, what, max_bytes);
  return uint64_t(st.st_size);
}

std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  check_input_file(path, what, max_bytes);
  // O_NONBLOCK: if the path was swapped for a FIFO since the check, open must not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  NABLA_CHECK(fd >= 0, "cannot open ", what, " ", path, ": ", std::strerror(errno));
  std::string content;
  try {
    struct stat st;
    NABLA_CHECK(::fstat(fd, &st) == 0, "cannot read ", what, " ", path, ": ", std::strerror(errno));
    check_stat(st, path, what, max_bytes);
    content.resize(size_t(st.st_size));
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = ::read(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      NABLA_CHECK(n >= 0, "cannot read ", what, " ", path, ": ", std::strerror(errno));
      if (n == 0) break;  // shrank while reading
      done += size_t(n);
    }
    content.resize(done);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return content;
}

nlohmann::json parse_json(std::string_view text, const std::string& what, bool allow_comments) {
  check_depth(text, what, allow_comments);
  try {
    return nlohmann::json::parse(text.begin(), text.end(), nullptr, true, allow_comments);
  } catch (const nlohmann::json::exception& e) {  // bad syntax, or a number too large to hold
    fail(what, ": not valid JSON (", e.what(), ")");
  }
}

nlohmann::json read_json_input(const std::string& path, const std::string& what, bool allow_comments) {
  return parse_json(read_input_file(path, what, kMaxJsonFileBytes), path, allow_comments);
}

}  // namespace nabla::data
