// examples/sigmoid_neuron is the articles' TensorFlow listing: started from the golden file's
// initial weights it ends where the same program in PyTorch ends (tests/golden/neuron).
#include <gtest/gtest.h>

#include <regex>

#include "../run_command.h"
#include "nabla/nabla.h"

using namespace nabla;
using test_support::run_command;

namespace {

const std::string kGolden = std::string(NABLA_SOURCE_DIR) + "/tests/golden/neuron/";
const std::string kProgram = std::string(NABLA_BINARY_DIR) + "/examples/sigmoid_neuron";

double printed_prediction(const std::string& output) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(output, m, std::regex(R"(prediction for \[10, 11, 12\]: ([0-9.]+))"))) << output;
  return m.empty() ? -1 : std::stod(m[1]);
}

TEST(SigmoidNeuronExample, MatchesPyTorchFromTheSameWeights) {
  auto golden = io::load_safetensors(kGolden + "expected.safetensors");
  auto r = run_command(kProgram + " " + kGolden + "initial.safetensors");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NEAR(printed_prediction(r.output), golden.tensors.at("prediction").item(), 1e-4) << r.output;
  EXPECT_NE(r.output.find("loss after epoch 1: 0.369428"), std::string::npos) << r.output;
}

TEST(SigmoidNeuronExample, RunsFromKerasInitialWeights) {
  auto r = run_command(kProgram);
  ASSERT_EQ(r.status, 0) << r.output;
  const double p = printed_prediction(r.output);
  EXPECT_GT(p, 0);
  EXPECT_LT(p, 1);
}

TEST(SigmoidNeuronExample, NamesAWrongWeightsFile) {
  auto r = run_command(kProgram + " /nonexistent/weights.safetensors");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("/nonexistent/weights.safetensors"), std::string::npos) << r.output;
}

}  // namespace
