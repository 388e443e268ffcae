// Helpers for the viz tests: a fresh directory per test, PNG header checks, SVG text checks.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace nabla::viz::testing {

namespace fs = std::filesystem;

// This process's scratch directory (per process, so parallel ctest runs never share one).
inline fs::path process_test_root() { return fs::temp_directory_path() / ("nabla_viz_" + std::to_string(::getpid())); }

// Removes the scratch directory after the tests; NABLA_KEEP_TEST_FILES=1 keeps it to look at the images.
class RemoveTestFiles : public ::testing::Environment {
 public:
  void TearDown() override {
    if (std::getenv("NABLA_KEEP_TEST_FILES") == nullptr) fs::remove_all(process_test_root());
  }
};
inline ::testing::Environment* const remove_test_files = ::testing::AddGlobalTestEnvironment(new RemoveTestFiles);

// An empty directory named after the running test.
inline fs::path fresh_test_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = process_test_root() / (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct PngSize {
  uint32_t width = 0, height = 0;
};

// Checks the 8-byte signature and that IHDR comes first, then returns its width and height.
inline PngSize png_size(const fs::path& path) {
  const std::string bytes = read_bytes(path);
  EXPECT_GE(bytes.size(), 24u) << path;
  if (bytes.size() < 24) return {};
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path << " lacks the PNG signature";
  EXPECT_EQ(bytes.substr(12, 4), "IHDR") << path;
  auto be32 = [&](size_t at) {
    return uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 |
           uint32_t(uint8_t(bytes[at + 2])) << 8 | uint32_t(uint8_t(bytes[at + 3]));
  };
  return {be32(16), be32(20)};
}

// PLplot's SVG driver writes text as numeric character references ("train" -> "&#x74;&#x72;...");
// ASCII only here (it encodes code points, not UTF-8 bytes).
inline std::string svg_encoded(const std::string& text) {
  std::string encoded;
  char buffer[16];
  for (unsigned char c : text) {
    std::snprintf(buffer, sizeof buffer, "&#x%x;", c);
    encoded += buffer;
  }
  return encoded;
}

inline bool svg_has_text(const std::string& svg, const std::string& text) {
  return svg.find(svg_encoded(text)) != std::string::npos;
}

// Names of files in `dir` that look like leftovers of an interrupted atomic write.
inline std::vector<std::string> temporary_files(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(entry.path().string());
  }
  return found;
}

}  // namespace nabla::viz::testing
