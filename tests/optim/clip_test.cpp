// Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_, plus the cases
// the goldens do not cover: strided gradients, non-finite norms, bad arguments.
#include "optim_test_util.h"

namespace nabla::optim_test {
namespace {

class ClipGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ClipGolden, MatchesPyTorch) {
  io::SafetensorsFile file = io::load_safetensors(golden_path(GetParam()));
  const json config = json::parse(file.metadata.at("config"));
  const std::vector<Shape> shapes = {{5, 4}, {9}, {2, 3, 2}, {4}};
  std::vector<Tensor> params;
  for (size_t j = 0; j < shapes.size(); ++j) {
    params.push_back(zeros(shapes[j]).requires_grad_());
    auto it = file.tensors.find("grad." + std::to_string(j));
    if (it != file.tensors.end()) params[j].set_grad(it->second.clone());
  }
  Diff diff;
  if (config.at("function") == "clip_grad_norm_") {
    const double norm_type =
        config.at("norm_type").is_string() ? optim::kInfinityNorm : config.at("norm_type").get<double>();
    const double total = optim::clip_grad_norm_(params, config.at("max_norm").get<double>(), norm_type);
    const double expected = config.at("total_norm").get<double>();
    // PyTorch sums in float32, we in double.
    EXPECT_NEAR(total, expected, 1e-6 * expected) << GetParam();
    diff.max_rel = std::abs(total - expected) / expected;
  } else {
    optim::clip_grad_value_(params, config.at("clip_value").get<double>());
  }
  for (size_t j = 0; j < shapes.size(); ++j) {
    auto it = file.tensors.find("clipped." + std::to_string(j));
    if (it == file.tensors.end()) {
      EXPECT_FALSE(params[j].grad().defined());
      continue;
    }
    EXPECT_TRUE(all_close(params[j].grad(), it->second, 1e-6, 1e-6, &diff)) << GetParam() << " grad " << j;
  }
  std::printf("    %-40s max abs diff %.2e, max rel diff %.2e\n", GetParam().c_str(), diff.max_abs, diff.max_rel);
}

INSTANTIATE_TEST_SUITE_P(PyTorch, ClipGolden, ::testing::ValuesIn(golden_files("clip_")), [](const auto& info) {
  std::string name = info.param.substr(5);
  return name.substr(0, name.find('.'));
});

TEST(Clip, StridedGradientsAreClippedInPlace) {
  Tensor p = zeros({3, 4}).requires_grad_();
  Tensor storage = tensor({3, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0}, {4, 3});
  p.set_grad(storage.t());  // a transposed view: not contiguous
  const uint64_t version = storage.version();
  const double total = optim::clip_grad_norm_({p}, 1.0);
  EXPECT_DOUBLE_EQ(total, 5.0);
  EXPECT_NEAR(p.grad().at<float>({0, 0}), 0.6f, 1e-6);
  EXPECT_NEAR(p.grad().at<float>({0, 1}), 0.8f, 1e-6);
  EXPECT_NEAR(storage.at<float>({1, 0}), 0.8f, 1e-6);  // written through the view
  EXPECT_GT(storage.version(), version);

  optim::clip_grad_value_({p}, 0.7);
  EXPECT_NEAR(p.grad().at<float>({0, 0}), 0.6f, 1e-6);
  EXPECT_FLOAT_EQ(p.grad().at<float>({0, 1}), 0.7f);
}

TEST(Clip, NoGradientsGiveANormOfZero) {
  Tensor p = zeros({3}).requires_grad_();
  EXPECT_EQ(optim::clip_grad_norm_({p}, 1.0), 0.0);
  optim::clip_grad_value_({p}, 1.0);
  EXPECT_FALSE(p.grad().defined());
}

TEST(Clip, NonFiniteNorms) {
  Tensor p = zeros({2}).requires_grad_();
  p.set_grad(tensor({1.0f, std::nanf("")}));
  try {
    optim::clip_grad_norm_({p}, 1.0, 2.0, true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
  }
  // Without the check, as in PyTorch: the NaN norm is returned and spreads into the gradients.
  EXPECT_TRUE(std::isnan(optim::clip_grad_norm_({p}, 1.0)));
  EXPECT_TRUE(std::isnan(p.grad().to_vector<float>()[0]));
}

TEST(Clip, BadArgumentsAreErrors) {
  Tensor p = zeros({2}).requires_grad_();
  p.set_grad(ones({2}));
  EXPECT_THROW(optim::clip_grad_norm_({p}, 1.0, 0.0), Error);
  EXPECT_THROW(optim::clip_grad_norm_({p}, -1.0), Error);
  EXPECT_THROW(optim::clip_grad_value_({p}, -1.0), Error);
  EXPECT_THROW(optim::clip_grad_norm_({Tensor()}, 1.0), Error);
}

}  // namespace
}  // namespace nabla::optim_test
