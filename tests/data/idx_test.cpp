// The IDX reader: the real Fashion-MNIST files, and truncated or corrupt ones.
#include "nabla/data/idx.h"

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
    EXPECT_NE(std::string(e.what()).find("install the Debian package dataset-fashion-mnist"), std::string::npos);
  }
}

TEST(Idx, DamagedGzipFilesAreClearErrors) {
  std::string body = idx_header({4, 100});
  for (int i = 0; i < 400; ++i) body += char(i * 7);
  fs::path gz = fs::temp_directory_path() / "nabla_idx_test" / "whole.idx.gz";
  gzFile f = gzopen(gz.c_str(), "wb");
  gzwrite(f, body.data(), unsigned(body.size()));
  gzclose(f);
  std::ifstream in(gz, std::ios::binary);
  std::string packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(data::read_idx(gz.string()).numel(), 400);
  // Cut in the middle of the compressed data: the reader runs out early.
  std::string cut = temp_file("cut.idx.gz", packed.substr(0, packed.size() / 2));
  expect_error(cut, "truncated");
  expect_error(cut, cut);  // the message names the file
  // A flipped byte in the CRC trailer: the data decodes, the stream check fails.
  std::string bad_crc = packed;
  bad_crc[bad_crc.size() - 6] ^= 0x55;
  expect_error(temp_file("crc.idx.gz", bad_crc), "corrupt");
}

TEST(Idx, DefaultDirectoryIsFoundAndEmptyMeansDefault) {
  const char* saved = std::getenv("NABLA_FASHION_MNIST_DIR");
  const std::string saved_value = saved ? saved : "";
  unsetenv("NABLA_FASHION_MNIST_DIR");
  // Debian's dataset-fashion-mnist puts the four .gz files here; setup installs it.
  EXPECT_EQ(data::default_fashion_mnist_dir(), "/usr/share/datasets/fashion-mnist");
  setenv("NABLA_FASHION_MNIST_DIR", "/nonexistent-dir", 1);
  EXPECT_EQ(data::default_fashion_mnist_dir(), "/usr/share/datasets/fashion-mnist");  // skipped: no files there
  fs::path copy = fs::temp_directory_path() / "nabla_idx_test" / "fmnist";
  fs::create_directories(copy);
  fs::copy_file("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", copy / "train-images-idx3-ubyte.gz",
                fs::copy_options::overwrite_existing);
  setenv("NABLA_FASHION_MNIST_DIR", copy.c_str(), 1);
  EXPECT_EQ(data::default_fashion_mnist_dir(), copy.string());  // an override holding the files wins
  if (saved)
    setenv("NABLA_FASHION_MNIST_DIR", saved_value.c_str(), 1);
  else
    unsetenv("NABLA_FASHION_MNIST_DIR");
  data::FashionMnist few = data::load_fashion_mnist("train", "", 5);
  EXPECT_EQ(few.images.shape(), Shape({5, 1, 28, 28}));
  // The first training label of Fashion-MNIST is 9 (ankle boot).
  EXPECT_EQ(few.labels.at<int64_t>({0}), 9);
}
