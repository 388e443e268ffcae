// Text corpora: the real KJV export, exporting it from `bible`, UTF-8 files, bad input, splits.
#include "nabla/data/text_corpus.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "../error_message.h"
#include "nabla/core/error.h"
#include "nabla/data/split.h"
#include "nabla/data/utf8.h"

using namespace nabla;
using nabla::test_support::error_of;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  fs::path dir = fs::temp_directory_path() / ("nabla_text_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir;
}
std::string write_file(const std::string& name, const std::string& bytes) {
  std::string path = (temp_dir() / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}
}  // namespace

TEST(Kjv, LoadsEveryVerseWithTestaments) {
  // scripts/setup.sh always exports the file, so its absence is a failure, not a skip.
  ASSERT_TRUE(fs::exists(data::default_kjv_path())) << data::default_kjv_path() << " is missing; run `make setup`";
  const auto verses = data::load_kjv();
  ASSERT_EQ(verses.size(), 31102u);
  int64_t old_testament = 0;
  for (const auto& v : verses) old_testament += v.testament == 0;
  EXPECT_EQ(old_testament, 23145);
  EXPECT_EQ(verses[0].book, "Ge");
  EXPECT_EQ(verses[0].chapter, 1);
  EXPECT_EQ(verses[0].verse, 1);
  EXPECT_EQ(verses[0].text, "In the beginning God created the heaven and the earth.");
  EXPECT_EQ(verses[23145].book, "Mat");
  EXPECT_EQ(verses[23145].testament, 1);
  EXPECT_EQ(verses[23144].book, "Mal");
  EXPECT_EQ(verses.back().book, "Rev");
  EXPECT_EQ(verses.back().chapter, 22);
  EXPECT_EQ(verses.back().verse, 21);
  // Numbered books keep their digit: "1Sm", "2Chr", "3Jn".
  std::set<std::string> books;
  for (const auto& v : verses) books.insert(v.book);
  EXPECT_EQ(books.size(), 66u);
  EXPECT_TRUE(books.count("1Sm") && books.count("2Chr") && books.count("3Jn"));
}

TEST(Kjv, ExportsFromTheBibleProgramWhenTheFileIsMissing) {
  const fs::path target = temp_dir() / "export" / "kjv.txt";
  fs::remove_all(target.parent_path());
  const auto verses = data::load_kjv(target.string());
  EXPECT_EQ(verses.size(), 31102u);
  // Written through a temporary file and renamed: nothing else is left behind.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(target.parent_path())) {
    EXPECT_EQ(entry.path().filename(), "kjv.txt");
    ++files;
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ(fs::file_size(target), fs::file_size(data::default_kjv_path()));
}

TEST(Kjv, WithoutTheFileOrTheBibleProgramTheErrorNamesThePackage) {
  const std::string saved_path = std::getenv("PATH");
  setenv("PATH", "/nonexistent-bin", 1);
  const std::string message = error_of([] { data::load_kjv((temp_dir() / "absent" / "kjv.txt").string()); });
  setenv("PATH", saved_path.c_str(), 1);
  EXPECT_NE(message.find("bible-kjv"), std::string::npos) << message;
  EXPECT_NE(message.find("make setup"), std::string::npos) << message;
}

TEST(Kjv, MalformedLinesNameFileAndLine) {
  const std::string path = write_file("bad_kjv.txt", "Ge1:1 In the beginning.\nGe1:2 And.\nnot a verse\n");
  const std::string message = error_of([&] { data::load_kjv(path); });
  EXPECT_NE(message.find(path + ":3"), std::string::npos) << message;
}

TEST(Kjv, DefaultPathFollowsTheSetupScript) {
  const char* saved = std::getenv("NABLA_DATA_DIR");
  const std::string saved_value = saved ? saved : "";
  setenv("NABLA_DATA_DIR", "/some/where", 1);
  EXPECT_EQ(data::default_kjv_path(), "/some/where/kjv.txt");
  unsetenv("NABLA_DATA_DIR");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg)
    EXPECT_EQ(data::default_kjv_path(), std::string(xdg) + "/nabla/kjv.txt");
  else
    EXPECT_EQ(data::default_kjv_path(), std::string(std::getenv("HOME")) + "/.cache/nabla/kjv.txt");
  if (saved) setenv("NABLA_DATA_DIR", saved_value.c_str(), 1);
}

TEST(TextFile, ReadsUtf8AsStreamAndLines) {
  const std::string path = write_file("lines.txt",
                                      "\xEF\xBB\xBF"
                                      "first line\r\n\r\nsecond — ünïcode\nthird");
  EXPECT_EQ(data::read_text_file(path), "first line\r\n\r\nsecond — ünïcode\nthird");  // BOM dropped
  EXPECT_EQ(data::read_text_lines(path), (std::vector<std::string>{"first line", "second — ünïcode", "third"}));
  EXPECT_EQ(data::read_text_lines(path, /*keep_blank=*/true).size(), 4u);
}

TEST(TextFile, NonUtf8IsAnErrorWithFileAndOffset) {
  const std::string path = write_file("latin1.txt", "caf\xE9 au lait");  // Latin-1 é
  const std::string message = error_of([&] { data::read_text_file(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("byte offset 3"), std::string::npos) << message;
  // Overlong encodings, surrogates and truncated sequences are malformed too.
  EXPECT_THROW(data::validate_utf8("\xC0\xAF", "x"), Error);
  EXPECT_THROW(data::validate_utf8("\xED\xA0\x80", "x"), Error);
  EXPECT_THROW(data::validate_utf8("ab\xE2\x82", "x"), Error);
  EXPECT_NO_THROW(data::validate_utf8("ascii, é, €, 𝄞", "x"));
}

TEST(TextFile, EmptyOrMissingCorpusIsAnError) {
  EXPECT_NE(error_of([] { data::read_text_file(write_file("empty.txt", "")); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([] { data::read_text_lines(write_file("blank.txt", " \n\n\t\n")); }).find("empty"),
            std::string::npos);
  EXPECT_NE(error_of([] { data::read_text_file("/nonexistent/corpus.txt"); }).find("not found"), std::string::npos);
}

// Keras' arithmetic (keras/src/trainers/data_adapters/array_slicing.py: floor(n * (1 - split))).
TEST(Split, KerasValidationSplitCounts) {
  EXPECT_EQ(data::keras_training_count(100, 0.29), 71);  // int(100 * 0.29) would hold out 28
  EXPECT_EQ(data::keras_training_count(60000, 0.1), 54000);
  EXPECT_EQ(data::keras_training_count(3, 0.34), 1);
  EXPECT_EQ(data::keras_training_count(10, 0.0), 10);
  EXPECT_EQ(data::keras_training_count(0, 0.5), 0);
}

TEST(Split, DeterministicDisjointAndComplete) {
  const auto a = data::split_indices(1003, {0.8, 0.1, 0.1}, 42);
  const auto b = data::split_indices(1003, {0.8, 0.1, 0.1}, 42);
  const auto c = data::split_indices(1003, {0.8, 0.1, 0.1}, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].size(), 802u);
  EXPECT_EQ(a[1].size(), 100u);
  EXPECT_EQ(a[2].size(), 101u);  // the last part takes the remainder
  std::set<int64_t> all;
  for (const auto& part : a) all.insert(part.begin(), part.end());
  EXPECT_EQ(all.size(), 1003u);
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 1002);
  // A zero fraction gives an empty part: the remainder goes to the last part asked for.
  const auto no_test = data::split_indices(1003, {0.8, 0.2, 0.0}, 42);
  ASSERT_EQ(no_test.size(), 3u);
  EXPECT_EQ(no_test[0].size(), 802u);
  EXPECT_EQ(no_test[1].size(), 201u);
  EXPECT_TRUE(no_test[2].empty());
  // A partial split leaves the rest out.
  const auto half = data::split_indices(100, {0.5}, 1);
  EXPECT_EQ(half[0].size(), 50u);
  EXPECT_THROW(data::split_indices(10, {0.8, 0.5}, 1), Error);
}
