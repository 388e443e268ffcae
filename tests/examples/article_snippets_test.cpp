// The articles' worked examples and short snippets run as programs and print what the articles
// show: the ReLU neuron's 9, the 2-3-1 network's step agreeing with the chain rule, the LSTM's
// returned states and the 512-wide self-attention's shapes.
#include <gtest/gtest.h>

#include <regex>

#include "../run_command.h"

using nabla::test_support::run_command;

namespace {

std::string program(const std::string& name) { return std::string(NABLA_BINARY_DIR) + "/examples/" + name; }

bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST(ArticleSnippets, WorkedExamplesAgreeWithTheChainRuleAndDescend) {
  auto r = run_command(program("worked_examples"));
  ASSERT_EQ(r.status, 0) << r.output;  // non-zero when autograd and the chain rule differ
  EXPECT_TRUE(contains(r.output, "relu(z) = 9")) << r.output;
  EXPECT_TRUE(contains(r.output, "y_hat = sigmoid(z2)     0.803158")) << r.output;
  EXPECT_TRUE(contains(r.output, "loss 0.017455 -> 0.017272 (down)")) << r.output;
  EXPECT_TRUE(contains(r.output, "the same step gives loss 0.017639 (up)")) << r.output;
}

TEST(ArticleSnippets, LstmReturnsSequencesAndBothStates) {
  auto r = run_command(program("lstm_states"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "whole_seq_output   [4, 10, 32]")) << r.output;
  EXPECT_TRUE(contains(r.output, "final_memory_state [4, 32]")) << r.output;
  EXPECT_TRUE(contains(r.output, "final_carry_state  [4, 32]")) << r.output;
  EXPECT_TRUE(contains(r.output, "whole_seq_output[:, -1, :]: largest difference 0.0e+00")) << r.output;
}

TEST(ArticleSnippets, SelfAttentionKeepsTheShapeAndWeightRowsSumToOne) {
  auto r = run_command(program("self_attention"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "attention output      [2, 10, 512]")) << r.output;
  EXPECT_TRUE(contains(r.output, "attention weights     [2, 10, 10]")) << r.output;
  EXPECT_TRUE(contains(r.output, "weight rows sum to    1.000000 .. 1.000000")) << r.output;
  EXPECT_TRUE(contains(r.output, "8-head attention      [2, 10, 512] -> [2, 10, 512]")) << r.output;
}

}  // namespace
