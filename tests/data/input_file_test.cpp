// Outside files are read only when they are regular files of bounded size: a device, a FIFO or a
// directory is an error naming it at once (never an endless or blocked read).
#include "nabla/data/input_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "../error_message.h"

using namespace nabla;
using test_support::error_of;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("nabla_input_file_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir / name;
}
}  // namespace

TEST(InputFile, RegularFilesAreReadWhole) {
  const fs::path p = scratch("a.txt");
  std::ofstream(p) << "hello";
  EXPECT_EQ(data::check_input_file(p.string(), "text"), 5u);
  EXPECT_EQ(data::read_input_file(p.string(), "text", 100), "hello");
  EXPECT_NE(error_of([&] { data::read_input_file(p.string(), "text", 4); }).find("more than the 4"), std::string::npos);
}

TEST(InputFile, DevicesFifosDirectoriesAndMissingFilesAreNamedErrors) {
  const fs::path fifo = scratch("fifo");
  fs::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(error_of([] { data::read_input_file("/dev/zero", "text file", 1 << 20); }),
            "text file /dev/zero is a device; give the path of a file");
  EXPECT_NE(error_of([&] { data::read_input_file(fifo.string(), "config file", 1 << 20); }).find("is a FIFO"),
            std::string::npos);
  EXPECT_NE(error_of([&] { data::check_input_file(fifo.parent_path().string(), "image"); }).find("is a directory"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { data::check_input_file(scratch("missing").string(), "CSV file"); }),
            "CSV file not found: " + scratch("missing").string());
  fs::remove(fifo);
}
