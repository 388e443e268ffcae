// RNN, LSTM and GRU as layers: PyTorch's parameter names, shapes and init, output shapes in every
// layout, the last-output helper, dropout between layers, bad input, and learning a task that needs memory.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "../error_message.h"
#include "nabla/nabla.h"

namespace nabla {
using test_support::error_of;
namespace {

TEST(RecurrentLayers, ParameterNamesShapesAndInitAsPyTorch) {
  nn::LSTM lstm(10, 20, {.num_layers = 2, .bidirectional = true});
  std::vector<std::pair<std::string, Shape>> expected;
  for (std::string layer : {"l0", "l1"})
    for (std::string suffix : {"", "_reverse"}) {
      const int64_t in = layer == "l0" ? 10 : 40;
      expected.push_back({"weight_ih_" + layer + suffix, {80, in}});
      expected.push_back({"weight_hh_" + layer + suffix, {80, 20}});
      expected.push_back({"bias_ih_" + layer + suffix, {80}});
      expected.push_back({"bias_hh_" + layer + suffix, {80}});
    }
  auto params = lstm.named_parameters();
  ASSERT_EQ(params.size(), expected.size());
  const float bound = 1.0f / std::sqrt(20.0f);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(params[i].first, expected[i].first);
    EXPECT_EQ(params[i].second.shape(), expected[i].second) << params[i].first;
    EXPECT_TRUE(params[i].second.requires_grad());
    std::vector<float> v = params[i].second.to_vector<float>();
    float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
    EXPECT_GE(lo, -bound) << params[i].first;
    EXPECT_LE(hi, bound) << params[i].first;
    EXPECT_GT(hi - lo, bound) << params[i].first << " is not spread over U(-1/sqrt(H), 1/sqrt(H))";
  }
  nn::GRU gru(3, 5, {.bias = false});
  auto gru_params = gru.named_parameters();
  ASSERT_EQ(gru_params.size(), 2u);
  EXPECT_EQ(gru_params[0].first, "weight_ih_l0");
  EXPECT_EQ(gru_params[0].second.shape(), Shape({15, 3}));
  EXPECT_EQ(gru_params[1].second.shape(), Shape({15, 5}));
  EXPECT_EQ(nn::RNN(3, 5).named_parameters()[1].second.shape(), Shape({5, 5}));
}

TEST(RecurrentLayers, OutputShapesInEveryLayout) {
  nn::LSTM lstm(3, 4, {.num_layers = 3, .bidirectional = true});
  nn::RecurrentOutput r = lstm.forward(randn({6, 2, 3}), Tensor());
  EXPECT_EQ(r.output.shape(), Shape({6, 2, 8}));
  EXPECT_EQ(r.h_n.shape(), Shape({6, 2, 4}));
  EXPECT_EQ(r.c_n.shape(), Shape({6, 2, 4}));

  nn::GRU gru(3, 4, {.batch_first = true});
  r = gru.forward(randn({2, 6, 3}), Tensor());
  EXPECT_EQ(r.output.shape(), Shape({2, 6, 4}));
  EXPECT_EQ(r.h_n.shape(), Shape({1, 2, 4}));  // never batch-first, as in PyTorch
  EXPECT_FALSE(r.c_n.defined());

  nn::RNN rnn(3, 4, {.num_layers = 2});
  r = rnn.forward(randn({6, 3}), randn({2, 4}));  // unbatched
  EXPECT_EQ(r.output.shape(), Shape({6, 4}));
  EXPECT_EQ(r.h_n.shape(), Shape({2, 4}));
  EXPECT_EQ(rnn.forward(randn({6, 1, 3})).shape(), Shape({6, 1, 4}));
}

TEST(RecurrentLayers, EmptyBatchGivesEmptyOutputsAndZeroWeightGradients) {
  nn::LSTM lstm(3, 4, {.bidirectional = true});
  Tensor x = randn({5, 0, 3}).requires_grad_();
  nn::RecurrentOutput r = lstm.forward(x, Tensor());
  EXPECT_EQ(r.output.shape(), Shape({5, 0, 8}));
  EXPECT_EQ(r.c_n.shape(), Shape({2, 0, 4}));
  add(sum(r.output), sum(r.c_n)).backward();
  for (float v : lstm.weights(0, true).w_hh.grad().to_vector<float>()) EXPECT_EQ(v, 0.0f);
}

TEST(RecurrentLayers, UnbatchedEqualsBatchOfOne) {
  manual_seed(3);
  nn::GRU gru(3, 4, {.num_layers = 2, .bidirectional = true});
  Tensor x = randn({5, 3}), h0 = randn({4, 4});
  nn::RecurrentOutput a = gru.forward(x, h0), b = gru.forward(x.unsqueeze(1), h0.unsqueeze(1));
  EXPECT_EQ(a.output.to_vector<float>(), b.output.to_vector<float>());
  EXPECT_EQ(a.h_n.to_vector<float>(), b.h_n.to_vector<float>());
}

TEST(RecurrentLayers, LastOutputIsEachDirectionsFinalState) {
  manual_seed(4);
  nn::GRU gru(3, 4, {.batch_first = true, .bidirectional = true});
  Tensor x = randn({2, 5, 3});
  nn::RecurrentOutput r = gru.forward(x, Tensor());
  Tensor last = gru.last_output(x);
  ASSERT_EQ(last.shape(), Shape({2, 8}));
  // forward direction: its last step (t = 4); backward direction: its last step is t = 0.
  Tensor expected = cat({r.output.select(1, 4).slice(1, 0, 4), r.output.select(1, 0).slice(1, 4, 8)}, 1);
  EXPECT_EQ(last.to_vector<float>(), expected.to_vector<float>());

  nn::LSTM lstm(3, 4, {.num_layers = 2});
  Tensor y = randn({5, 2, 3});
  EXPECT_EQ(lstm.last_output(y).to_vector<float>(), lstm.forward(y).select(0, 4).to_vector<float>());
}

TEST(RecurrentLayers, ReturnSequencesFalseWorksInSequential) {
  auto lstm = std::make_shared<nn::LSTM>(3, 8, nn::RecurrentOptions{.batch_first = true, .return_sequences = false});
  nn::Sequential model{lstm, std::make_shared<nn::Linear>(8, 2)};
  Tensor out = model.forward(randn({4, 7, 3}));
  EXPECT_EQ(out.shape(), Shape({4, 2}));
  sum(out).backward();
  EXPECT_TRUE(lstm->weights(0).w_hh.grad().defined());
}

TEST(RecurrentLayers, DropoutOnlyBetweenLayersAndOnlyInTraining) {
  manual_seed(5);
  nn::LSTM with_dropout(3, 6, {.num_layers = 2, .dropout = 0.5});
  nn::LSTM without(3, 6, {.num_layers = 2});
  without.load_state_dict(with_dropout.state_dict());
  Tensor x = randn({5, 2, 3});
  const std::vector<float> plain = without.forward(x).to_vector<float>();
  EXPECT_NE(with_dropout.forward(x).to_vector<float>(), plain);  // training: layer 0's output is dropped
  with_dropout.eval();
  EXPECT_EQ(with_dropout.forward(x).to_vector<float>(), plain);

  nn::GRU single(3, 6, {.dropout = 0.5});  // one layer: nothing between layers to drop
  nn::GRU single_plain(3, 6);
  single_plain.load_state_dict(single.state_dict());
  EXPECT_EQ(single.forward(x).to_vector<float>(), single_plain.forward(x).to_vector<float>());
}

TEST(RecurrentLayers, BadInputIsAnErrorNamingTheProblem) {
  nn::LSTM lstm(5, 4, {.num_layers = 2});
  std::string message = error_of([&] { lstm.forward(randn({3, 2, 7})); });
  EXPECT_NE(message.find("input_size is 5"), std::string::npos) << message;
  EXPECT_NE(message.find("[3, 2, 7]"), std::string::npos) << message;

  message = error_of([&] { lstm.forward(randn({3, 2, 5}), zeros({1, 2, 4})); });
  EXPECT_NE(message.find("h0 must be"), std::string::npos) << message;
  EXPECT_NE(message.find("[2, 2, 4]"), std::string::npos) << message;
  EXPECT_NE(message.find("[1, 2, 4]"), std::string::npos) << message;

  message = error_of([&] { lstm.forward(randn({3, 2, 5}), zeros({2, 2, 4}), zeros({2, 3, 4})); });
  EXPECT_NE(message.find("c0 must be"), std::string::npos) << message;

  nn::GRU gru(5, 4);
  message = error_of([&] { gru.forward(randn({3, 2, 5}), Tensor(), zeros({1, 2, 4})); });
  EXPECT_NE(message.find("only LSTM"), std::string::npos) << message;
  EXPECT_THROW(gru.forward(randn({3, 2, 2, 5})), Error);
  EXPECT_THROW(gru.forward(randn({3, 2, 5}).to(DType::bf16)), Error);
  EXPECT_THROW(gru.forward(randn({0, 2, 5})), Error);
  EXPECT_THROW(gru.weights(1), Error);

  message = error_of([] { nn::RNN(3, 4, {.nonlinearity = "sigmoid"}); });
  EXPECT_NE(message.find("\"tanh\" or \"relu\""), std::string::npos) << message;
  EXPECT_THROW(nn::LSTM(3, 4, {.nonlinearity = "relu"}), Error);
  EXPECT_THROW(nn::GRU(3, 0), Error);
  EXPECT_THROW(nn::GRU(3, 4, {.num_layers = 0}), Error);
  EXPECT_THROW(nn::GRU(3, 4, {.dropout = 1.0}), Error);
}

// A task that needs memory: report the mean of 8 random inputs after the last one. Plain SGD on a
// GRU + Linear for 300 steps, then the error on 512 held-out sequences must be far below that of
// predicting 0 (the target's variance, about 0.043). Measured: 0.0022.
TEST(RecurrentLayers, GruLearnsTheMeanOfASequence) {
  manual_seed(9);
  auto gru = std::make_shared<nn::GRU>(1, 24, nn::RecurrentOptions{.batch_first = true, .return_sequences = false});
  auto head = std::make_shared<nn::Linear>(24, 1);
  nn::Sequential model{gru, head};
  Generator data(10);
  for (int step = 0; step < 300; ++step) {
    Tensor x = uniform({32, 8, 1}, -1, 1, data);
    Tensor loss = mse_loss(model.forward(x), mean(x, {1}));
    model.zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor& p : model.parameters()) p.add_(p.grad(), -0.3);
  }
  NoGradGuard no_grad;
  Generator held_out(11);
  Tensor x = uniform({512, 8, 1}, -1, 1, held_out);
  const double error = mse_loss(model.forward(x), mean(x, {1})).item();
  EXPECT_LT(error, 0.008) << "the GRU did not learn to integrate its input over 8 steps";
}

}  // namespace
}  // namespace nabla
