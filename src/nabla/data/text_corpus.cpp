// Reading UTF-8 corpora and the King James Bible; exporting the Bible from the `bible` program.
#include "nabla/data/text_corpus.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "nabla/core/error.h"
#include "nabla/data/input_file.h"
#include "nabla/data/utf8.h"

namespace nabla::data {

// A corpus is read whole: past this it is a mistake, not a corpus.
constexpr uint64_t kMaxTextBytes = uint64_t(4) << 30;

namespace fs = std::filesystem;
namespace {

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

bool is_blank(const std::string& s) {
  for (unsigned char c : s)
    if (!std::isspace(c)) return false;
  return true;
}

std::string find_program(const std::string& name) {
  const char* path = env("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

// "1Sm3:10 Then ..." -> Verse; throws naming path:line when the line is not a verse.
Verse parse_verse(const std::string& line, const std::string& path, size_t line_number) {
  auto bad = [&]() {
    fail(path, ":", line_number, ": not a verse line (expected a reference like \"Ge1:1 \" then the text), got \"",
         line.substr(0, 60), line.size() > 60 ? "...\"" : "\"");
  };
  size_t i = 0;
  if (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;  // "1Sm", "2Chr"
  const size_t book_begin = 0;
  while (i < line.size() && std::isalpha(static_cast<unsigned char>(line[i]))) ++i;
  if (i == book_begin || !std::isalpha(static_cast<unsigned char>(line[i - 1]))) bad();
  Verse v;
  v.book = line.substr(0, i);
  auto number = [&](int& out) {
    const size_t start = i;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])) && i - start < 4) ++i;
    if (i == start) bad();
    out = std::stoi(line.substr(start, i - start));
  };
  number(v.chapter);
  if (i >= line.size() || line[i] != ':') bad();
  ++i;
  number(v.verse);
  if (i >= line.size() || line[i] != ' ') bad();
  v.text = line.substr(i + 1);
  return v;
}

}  // namespace

std::string default_data_dir() {
  if (const char* dir = env("NABLA_DATA_DIR")) return dir;
  if (const char* cache = env("XDG_CACHE_HOME")) return (fs::path(cache) / "nabla").string();
  if (const char* home = env("HOME")) return (fs::path(home) / ".cache" / "nabla").string();
  return (fs::temp_directory_path() / "nabla").string();
}

std::string default_kjv_path() { return (fs::path(default_data_dir()) / "kjv.txt").string(); }

namespace {

// Standard input, read to its end (a pipe or a terminal), bounded like a file.
std::string read_standard_input() {
  std::string text;
  char buffer[1 << 16];
  while (std::cin.read(buffer, sizeof buffer) || std::cin.gcount() > 0) {
    text.append(buffer, size_t(std::cin.gcount()));
    NABLA_CHECK(text.size() <= kMaxTextBytes, "standard input: more than ", kMaxTextBytes,
                " bytes of text; give a file instead");
  }
  return text;
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::string text = path == "-" ? read_standard_input() : data::read_input_file(path, "text file", kMaxTextBytes);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  validate_utf8(text, path);
  if (is_blank(text)) fail(path, ": the corpus is empty (no non-whitespace characters)");
  return text;
}

std::vector<std::string> read_text_lines(const std::string& path, bool keep_blank) {
  const std::string text = read_text_file(path);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    size_t stop = end;
    if (stop > start && text[stop - 1] == '\r') --stop;
    std::string line = text.substr(start, stop - start);
    if (keep_blank || !is_blank(line)) lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

void export_kjv(const std::string& path) {
  const std::string bible = find_program("bible");
  if (bible.empty())
    fail("the King James Bible is not at ", path, " and the `bible` program that exports it is not installed; ",
         "install the Debian packages bible-kjv and bible-kjv-text (sudo apt-get install bible-kjv bible-kjv-text) ",
         "or run `make setup`, which does both and exports the text");
  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  if (ec) fail("cannot create the directory ", target.parent_path().string(), " for the KJV export: ", ec.message());
  // A per-process temporary name: two processes exporting at once never write the same file.
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  // posix_spawn, not fork: safe in a process that already runs OpenMP or prefetch threads.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char* const argv[] = {const_cast<char*>("bible"), const_cast<char*>("-f"), const_cast<char*>("Gen1:1-Rev22:21"),
                        nullptr};
  pid_t child = 0;
  const int spawn_error = posix_spawn(&child, bible.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) fail("cannot start ", bible, " to export the King James Bible: ", std::strerror(spawn_error));
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && fs::file_size(tmp, ec) > 0 && !ec;
  if (!ok) {
    fs::remove(tmp, ec);
    fail("`", bible, " -f Gen1:1-Rev22:21` failed (", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
         ") while exporting the King James Bible to ", path,
         "; is the Debian package bible-kjv-text installed? (sudo apt-get install bible-kjv-text)");
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("cannot move the KJV export into place at ", path, ": ", ec.message());
  }
}

std::vector<Verse> load_kjv(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) export_kjv(path);
  const std::vector<std::string> lines = read_text_lines(path, /*keep_blank=*/true);
  std::vector<Verse> verses;
  verses.reserve(lines.size());
  int testament = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (is_blank(lines[i])) continue;
    Verse v = parse_verse(lines[i], path, i + 1);
    if (v.book == "Mat" && v.chapter == 1 && v.verse == 1) testament = 1;
    v.testament = testament;
    verses.push_back(std::move(v));
  }
  return verses;
}

}  // namespace nabla::data
