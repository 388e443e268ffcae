// The Hugging Face fixtures of tests/golden/pretrained as the tokenizer tests read them: files
// whole, corpora split at "\n" only (lines hold other line breaks), and the FNV-1a hash the golden
// script files the whole KJV's ids under.
#pragma once
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace nabla::test_support {

inline const std::string kPretrainedDir = std::string(NABLA_SOURCE_DIR) + "/tests/golden/pretrained/";

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The lines of a fixture in kPretrainedDir; the text ends with "\n", which ends the last line.
inline std::vector<std::string> lines_of(const std::string& file) {
  const std::string text = read_file(kPretrainedDir + file);
  std::vector<std::string> lines;
  for (size_t begin = 0; begin < text.size();) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

// FNV-1a 64 over ids[begin, end) as little-endian int64 bytes, as 16 lower-case hex digits.
inline std::string fnv1a64_hex(const std::vector<int64_t>& ids, size_t begin, size_t end) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = begin; i < end; ++i)
    for (int b = 0; b < 8; ++b) h = (h ^ ((uint64_t(ids[i]) >> (8 * b)) & 0xff)) * 0x100000001b3ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace nabla::test_support
