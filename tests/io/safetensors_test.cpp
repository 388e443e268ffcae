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
      {"f64", tensor({0.5, -3}).to(DType::f64)},
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

// The format's rule (safetensors' Metadata::validate): the tensors' byte ranges tile the data
// section from its first byte to its last, so no byte is shared, hidden or left over.
TEST(Safetensors, TensorsMustTileTheDataSectionWithoutOverlapOrGaps) {
  std::string p = temp_path("tiles.safetensors");
  const std::string data(12, '\0');
  write_bytes(p, with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                             data));
  expect_error(p, "overlaps the tensor before it");
  write_bytes(p, with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                             data));
  expect_error(p, "bytes 4-8 of the data section belong to no tensor");
  write_bytes(p, with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data));
  expect_error(p, "trailing bytes");
  // In any order in the header, and with empty tensors anywhere, a tiling loads.
  write_bytes(p, with_header(R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
                             R"("e":{"dtype":"U8","shape":[0],"data_offsets":[4,4]},)"
                             R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                             data));
  EXPECT_EQ(io::load_safetensors(p).tensors.size(), 3u);
}

// F64 stays f64 (optimizer hyper-parameters are stored so), exactly.
TEST(Safetensors, F64LoadsAsItselfExactly) {
  std::string p = temp_path("f64.safetensors");
  Tensor t = Tensor::empty({2}, DType::f64);
  t.data<double>()[0] = 0.1;
  t.data<double>()[1] = 1e-300;
  io::save_safetensors(p, {{"x", t}});
  const Tensor back = io::load_safetensors(p).tensors.at("x");
  ASSERT_EQ(back.dtype(), DType::f64);
  EXPECT_EQ(back.to_vector<double>(), std::vector<double>({0.1, 1e-300}));
}

TEST(Safetensors, FailedSaveLeavesThePreviousFile) {
  std::string path = temp_path("keep.safetensors");
  io::save_safetensors(path, {{"a", ones({2})}});
  EXPECT_THROW(io::save_safetensors(path, {{"a", Tensor()}}), Error);
  EXPECT_EQ(io::load_safetensors(path).tensors.at("a").to_vector<float>(), std::vector<float>({1, 1}));
  EXPECT_THROW(io::save_safetensors("/nonexistent-dir/x.safetensors", {{"a", ones({1})}}), Error);
}
