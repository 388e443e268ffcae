// safetensors round trips, PyTorch-written files, and hostile files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nabla/nabla.h"

using namespace nabla;
namespace fs = std::filesystem;

namespace {
std::string temp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "nabla_io_test";
  fs::create_directories(dir);
  return (dir / name).string();
}
void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
std::string with_header(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xff);
  return out + json + data;
}
void expect_error(const std::string& path, const std::string& fragment) {
  try {
    io::load_safetensors(path);
    FAIL() << "expected an error containing \"" << fragment << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Safetensors, RoundTripsEveryDtype) {
  std::string path = temp_path("roundtrip.safetensors");
  std::map<std::string, Tensor> tensors{
      {"weight", randn({3, 5})},
      {"transposed", randn({4, 2}).t()},
      {"scalar", scalar_tensor(2.5)},
      {"index", tensor_i64({1, 2, 3})},
      {"half", randn({7}).to(DType::bf16)},
      {"mask", tensor({1, 0, 1}).to(DType::boolean)},
      {"bytes", tensor({0, 255}).to(DType::u8)},
      {"i32", tensor({-4, 4}).to(DType::i32)},
  };
  io::save_safetensors(path, tensors, {{"format", "pt"}});
  io::SafetensorsFile loaded = io::load_safetensors(path);
  EXPECT_EQ(loaded.metadata.at("format"), "pt");
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (auto& [name, t] : tensors) {
    const Tensor& l = loaded.tensors.at(name);
    EXPECT_EQ(l.shape(), t.shape()) << name;
    EXPECT_EQ(l.dtype(), t.dtype()) << name;
    EXPECT_EQ(l.to(DType::f32).to_vector<float>(), t.to(DType::f32).to_vector<float>()) << name;
  }
}

TEST(Safetensors, ReadsFilesWrittenByPyTorch) {
  // Golden files are written by safetensors.torch.save_file.
  std::string path = std::string(NABLA_GOLDEN_DIR) + "/add_broadcast_row.safetensors";
  ASSERT_TRUE(fs::exists(path)) << path;
  io::SafetensorsFile f = io::load_safetensors(path);
  EXPECT_EQ(f.metadata.at("op"), "add");
  EXPECT_TRUE(f.tensors.count("input.0"));
  EXPECT_TRUE(f.tensors.count("output"));
}

TEST(Safetensors, HostileFilesAreErrorsNotCrashes) {
  std::string p = temp_path("bad.safetensors");
  write_bytes(p, "abc");
  expect_error(p, "truncated");
  write_bytes(p, with_header("{}", "").substr(0, 8));  // header length 2 but no header
  expect_error(p, "does not fit");
  std::string huge(8, '\xff');
  write_bytes(p, huge + "{}");
  expect_error(p, "does not fit");
  write_bytes(p, with_header("{not json", ""));
  expect_error(p, "not valid JSON");
  write_bytes(p, with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}})", std::string(8, '\0')));
  expect_error(p, "outside the data section");
  write_bytes(p, with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  expect_error(p, "needs 12");
  write_bytes(p, with_header(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')));
  expect_error(p, "unsupported dtype");
  // A 30-byte file must not make us allocate a huge tensor.
  write_bytes(p, with_header(R"({"w":{"dtype":"F32","shape":[100000,100000,100000],"data_offsets":[0,4]}})", "abcd"));
  expect_error(p, "more bytes than the file holds");
  write_bytes(p, with_header(R"({"w":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}})", "\x07"));
  expect_error(p, "BOOL data");
  expect_error(temp_path("missing.safetensors"), "cannot open");
}

TEST(Safetensors, FailedSaveLeavesThePreviousFile) {
  std::string path = temp_path("keep.safetensors");
  io::save_safetensors(path, {{"a", ones({2})}});
  EXPECT_THROW(io::save_safetensors(path, {{"a", Tensor()}}), Error);
  EXPECT_EQ(io::load_safetensors(path).tensors.at("a").to_vector<float>(), std::vector<float>({1, 1}));
  EXPECT_THROW(io::save_safetensors("/nonexistent-dir/x.safetensors", {{"a", ones({1})}}), Error);
}
