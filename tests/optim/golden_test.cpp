// Optimizer parity with PyTorch: every case of tests/golden/optim/make_optim_golden.py runs the same
// 20 steps (same initial parameters, same gradients, the same skipped gradients) and must match
// torch.optim's parameters after every step to 1e-6, relative and absolute.
#include <cstdio>

#include "optim_test_util.h"

namespace nabla::optim_test {
namespace {

constexpr double kTolerance = 1e-6;

class OptimizerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimizerGolden, MatchesPyTorchAfterEveryStep) {
  io::SafetensorsFile file = io::load_safetensors(golden_path(GetParam()));
  const json config = json::parse(file.metadata.at("config"));
  const int steps = config.at("steps");

  std::vector<Tensor> params;
  for (size_t j = 0; file.tensors.count("param." + std::to_string(j)); ++j)
    params.push_back(file.tensors.at("param." + std::to_string(j)).clone().requires_grad_());
  ASSERT_EQ(params.size(), 3u);
  std::unique_ptr<optim::Optimizer> optimizer = make_optimizer(config, params);
  ASSERT_NE(optimizer, nullptr);

  Diff diff;
  int skipped = 0;
  for (int t = 0; t < steps; ++t) {
    for (size_t j = 0; j < params.size(); ++j) {
      auto it = file.tensors.find("grad." + std::to_string(t) + "." + std::to_string(j));
      skipped += it == file.tensors.end();
      params[j].set_grad(it == file.tensors.end() ? Tensor() : it->second.clone());
    }
    optimizer->step();
    for (size_t j = 0; j < params.size(); ++j) {
      const Tensor& expected = file.tensors.at("expected." + std::to_string(t) + "." + std::to_string(j));
      ASSERT_TRUE(all_close(params[j], expected, kTolerance, kTolerance, &diff))
          << GetParam() << ", step " << t + 1 << ", parameter " << j;
    }
  }
  EXPECT_GT(skipped, 0) << "every case should skip some gradients";
  std::printf("    %-52s max abs diff %.2e, max rel diff %.2e\n", GetParam().c_str(), diff.max_abs, diff.max_rel);
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(std::string("optimizer_").size());
  return name.substr(0, name.find('.'));
}

INSTANTIATE_TEST_SUITE_P(PyTorch, OptimizerGolden, ::testing::ValuesIn(golden_files("optimizer_")), case_name);

TEST(OptimizerGolden, EveryOptimizerHasCases) {
  const std::vector<std::string> files = golden_files("optimizer_");
  for (const char* name : {"sgd_", "adagrad_", "rmsprop_", "adam_", "adamw_"}) {
    const auto count = std::count_if(files.begin(), files.end(), [&](const std::string& f) {
      return f.rfind(std::string("optimizer_") + name, 0) == 0;
    });
    EXPECT_GE(count, 2) << name;
  }
}

}  // namespace
}  // namespace nabla::optim_test
