// The IDX reader: the real Fashion-MNIST files, and truncated or corrupt ones.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "nabla/nabla.h"

using namespace nabla;
namespace fs = std::filesystem;

namespace {
std::string temp_file(const std::string& name, const std::string& bytes) {
  fs::path dir = fs::temp_directory_path() / "nabla_idx_test";
  fs::create_directories(dir);
  std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}
std::string idx_header(std::initializer_list<int> dims) {
  std::string h{'\0', '\0', '\x08', char(dims.size())};
  for (int d : dims)
    for (int s = 24; s >= 0; s -= 8) h += char((d >> s) & 0xff);
  return h;
}
void expect_error(const std::string& path, const std::string& fragment) {
  try {
    data::read_idx(path);
    FAIL() << "expected an error containing " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Idx, ReadsTheRealFashionMnist) {
  data::FashionMnist test = data::load_fashion_mnist("test");
  EXPECT_EQ(test.images.shape(), Shape({10000, 1, 28, 28}));
  EXPECT_EQ(test.labels.shape(), Shape({10000}));
  EXPECT_GE(min(test.images).item(), 0.0f);
  EXPECT_LE(max(test.images).item(), 1.0f);
  // Fashion-MNIST's test set is balanced: 1000 per class.
  Tensor counts = sum(eq(test.labels.unsqueeze(1), arange(10).unsqueeze(0)).to(DType::f32), {0});
  for (float c : counts.to_vector<float>()) EXPECT_EQ(c, 1000.0f);
}

TEST(Idx, ReadsPlainAndGzipFiles) {
  std::string body = idx_header({2, 3}) + std::string("\x01\x02\x03\x04\x05\x06", 6);
  Tensor plain = data::read_idx(temp_file("plain.idx", body));
  EXPECT_EQ(plain.shape(), Shape({2, 3}));
  EXPECT_EQ(plain.at<int64_t>({1, 2}), 6);
  fs::path gz = fs::temp_directory_path() / "nabla_idx_test" / "packed.idx.gz";
  gzFile f = gzopen(gz.c_str(), "wb");
  gzwrite(f, body.data(), unsigned(body.size()));
  gzclose(f);
  EXPECT_EQ(data::read_idx(gz.string()).to_vector<uint8_t>(), plain.to_vector<uint8_t>());
}

TEST(Idx, CorruptFilesAreClearErrors) {
  expect_error(temp_file("short.idx", idx_header({10, 10}) + "abc"), "truncated");
  expect_error(temp_file("magic.idx", "PK\x03\x04garbage"), "not an IDX file");
  expect_error(temp_file("float.idx", std::string("\0\0\x0d\x01", 4) + "\0\0\0\1abcd"), "not supported");
  expect_error(temp_file("huge.idx", idx_header({65535, 65535, 65535})), "implausibly large");
  expect_error(temp_file("extra.idx", idx_header({2}) + "abc"), "beyond its declared shape");
  expect_error("/nonexistent/file.idx", "not found");
  try {
    data::load_fashion_mnist("train", "/nonexistent-dir");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install dataset-fashion-mnist"), std::string::npos);
  }
}
