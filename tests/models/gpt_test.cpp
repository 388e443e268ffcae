// GPT against its PyTorch oracle (logits, loss and every gradient, as llm.c's test_gpt2), and
// incremental decoding (KV cache, recurrent state) against the full forward pass.
#include "nabla/models/gpt.h"

#include <gtest/gtest.h>

#include <cmath>

#include "nabla/models/generation.h"
#include "nabla/models/recurrent_lm.h"
#include "nabla/nabla.h"

using namespace nabla;
using namespace nabla::models;

namespace {

void expect_close(const Tensor& actual, const Tensor& expected, double rtol, double atol, const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  std::vector<float> a = actual.contiguous().to_vector<float>(), e = expected.contiguous().to_vector<float>();
  int reported = 0;
  for (size_t i = 0; i < a.size() && reported < 5; ++i)
    if (!(std::fabs(a[i] - e[i]) <= atol + rtol * std::fabs(e[i]))) {
      ADD_FAILURE() << what << "[" << i << "]: " << a[i] << " vs PyTorch " << e[i];
      ++reported;
    }
}

}  // namespace

TEST(GPT, MatchesPyTorchLogitsLossAndEveryGradient) {
  io::SafetensorsFile golden = io::load_safetensors(NABLA_SOURCE_DIR "/tests/golden/models/gpt.safetensors");
  GPTConfig config{.vocab_size = 37, .context = 16, .n_layer = 2, .n_head = 4, .n_embd = 32, .dropout = 0.0};
  GPT model(config);
  std::map<std::string, Tensor> params;
  for (auto& [key, value] : golden.tensors)
    if (key.starts_with("param.")) params[key.substr(6)] = value;
  model.load_state_dict(params);  // strict: every name must match PyTorch's

  Tensor logits = model.forward(golden.tensors.at("tokens"));
  expect_close(logits, golden.tensors.at("logits"), 1e-4, 1e-5, "logits");
  Tensor loss = cross_entropy(logits.reshape({-1, 37}), golden.tensors.at("targets").reshape({-1}));
  expect_close(loss, golden.tensors.at("loss"), 1e-5, 1e-6, "loss");
  loss.backward();
  for (auto& [name, p] : model.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    expect_close(p.grad(), golden.tensors.at("grad." + name), 1e-3, 2e-6, "grad." + name);
  }
}

// The training path: the loss straight from the hidden state (linear_cross_entropy), never the logits.
TEST(GPT, FusedLossMatchesPyTorchLossAndEveryGradient) {
  io::SafetensorsFile golden = io::load_safetensors(NABLA_SOURCE_DIR "/tests/golden/models/gpt.safetensors");
  GPT model({.vocab_size = 37, .context = 16, .n_layer = 2, .n_head = 4, .n_embd = 32, .dropout = 0.0});
  std::map<std::string, Tensor> params;
  for (auto& [key, value] : golden.tensors)
    if (key.starts_with("param.")) params[key.substr(6)] = value;
  model.load_state_dict(params);

  Tensor predicted;
  const Tensor& tokens = golden.tensors.at("tokens");
  Tensor loss = model.forward_cross_entropy(tokens, golden.tensors.at("targets"), &predicted);
  expect_close(loss, golden.tensors.at("loss"), 1e-5, 1e-6, "loss");
  EXPECT_EQ(predicted.to_vector<int64_t>(), argmax(golden.tensors.at("logits"), -1).to_vector<int64_t>());
  loss.backward();
  for (auto& [name, p] : model.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    expect_close(p.grad(), golden.tensors.at("grad." + name), 1e-3, 2e-6, "grad." + name);
  }
}

// train::Model takes the fused path for sparse_categorical_crossentropy with accuracy: the same
// losses, accuracy and weights as the loss on the full logits.
TEST(GPT, KerasTrainingWithTheFusedLossMatchesTheLogitsLoss) {
  GPTConfig config{.vocab_size = 29, .context = 8, .n_layer = 1, .n_head = 2, .n_embd = 16, .dropout = 0.0};
  manual_seed(11);
  const Tensor x = randint(0, 29, {12, 8}), y = randint(0, 29, {12, 8});
  auto trained = [&](bool fused) {
    manual_seed(12);
    auto gpt = std::make_shared<GPT>(config);
    train::Model model(gpt);
    auto adam = optim::make_optimizer("adam", gpt->parameters(), {.lr = 1e-2});
    if (fused)
      model.compile(adam, "sparse_categorical_crossentropy", {"accuracy"});
    else
      model.compile(adam, train::make_loss("sparse_categorical_crossentropy"), {"accuracy"},
                    "sparse_categorical_crossentropy");
    EXPECT_EQ(model.fuses_loss(), fused);
    train::History h = model.fit(x, y, {.epochs = 3, .batch_size = 4, .shuffle = false, .verbose = 0});
    return std::make_pair(h, gpt->wte->weight.detach());
  };
  const auto [fused, fused_weights] = trained(true);
  const auto [plain, plain_weights] = trained(false);
  for (const char* key : {"loss", "accuracy"})
    for (size_t e = 0; e < 3; ++e)
      EXPECT_NEAR(fused.history.at(key)[e], plain.history.at(key)[e], 1e-5) << key << " epoch " << e;
  expect_close(fused_weights, plain_weights, 1e-4, 1e-5, "wte after training");
}

TEST(GPT, KvCacheDecodingMatchesTheFullForward) {
  manual_seed(11);
  GPT model(GPTConfig{.vocab_size = 29, .context = 12, .n_layer = 2, .n_head = 2, .n_embd = 16, .dropout = 0.1});
  model.eval();
  Tensor tokens = randint(0, 29, {2, 10});
  Tensor full;
  {
    NoGradGuard no_grad;
    full = model.forward(tokens);  // [2, 10, 29]
  }
  DecodeState state;
  // A prompt of 4 at once (causal prefill), 3 appended at once (offset causal mask), then one by one.
  expect_close(model.decode(tokens.narrow(1, 0, 4), state), full.select(1, 3), 1e-4, 1e-5, "prefill");
  expect_close(model.decode(tokens.narrow(1, 4, 3), state), full.select(1, 6), 1e-4, 1e-5, "append 3");
  for (int64_t t = 7; t < 10; ++t)
    expect_close(model.decode(tokens.narrow(1, t, 1), state), full.select(1, t), 1e-4, 1e-5,
                 "step " + std::to_string(t));
  EXPECT_EQ(state.length, 10);
  EXPECT_THROW(model.decode(tokens.narrow(1, 0, 3), state), Error);  // 13 > context 12
}

TEST(GPT, WeightDecayGroupsSplitMatricesFromVectors) {
  GPT model(GPTConfig{.vocab_size = 10, .context = 4, .n_layer = 1, .n_head = 1, .n_embd = 8});
  auto groups = model.weight_decay_groups(0.1);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].weight_decay, 0.1);
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  for (const Tensor& p : groups[0].params) EXPECT_GE(p.dim(), 2);
  for (const Tensor& p : groups[1].params) EXPECT_EQ(p.dim(), 1);
  EXPECT_EQ(groups[0].params.size() + groups[1].params.size(), model.parameters().size());
}

TEST(RecurrentLM, DecodingCarriesTheStateLikeTheFullForward) {
  for (const char* cell : {"gru", "lstm"}) {
    manual_seed(5);
    RecurrentLM model(
        RecurrentLMConfig{.vocab_size = 13, .cell = cell, .embedding_dim = 6, .hidden_size = 10, .num_layers = 2});
    model.eval();
    Tensor tokens = randint(0, 13, {3, 7});
    Tensor full;
    {
      NoGradGuard no_grad;
      full = model.forward(tokens);
    }
    DecodeState state;
    expect_close(model.decode(tokens.narrow(1, 0, 5), state), full.select(1, 4), 1e-4, 1e-5, cell);
    expect_close(model.decode(tokens.narrow(1, 5, 1), state), full.select(1, 5), 1e-4, 1e-5, cell);
    expect_close(model.decode(tokens.narrow(1, 6, 1), state), full.select(1, 6), 1e-4, 1e-5, cell);
  }
}

TEST(Sampling, GreedyTopKAndNucleusFilterAsDocumented) {
  Generator gen(3);
  Tensor logits = tensor({0.0f, 2.0f, 1.0f, -1.0f});
  EXPECT_EQ(sample_token(logits, {.temperature = 0}, gen), 1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample_token(logits, {.top_k = 1}, gen), 1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample_token(logits, {.top_p = 0.5}, gen), 1);  // p(1) = 0.64
  for (int i = 0; i < 50; ++i) EXPECT_NE(sample_token(logits, {.top_k = 2}, gen), 3);
  // Plain sampling follows softmax: token 1 has p = 0.644.
  int ones = 0;
  for (int i = 0; i < 4000; ++i) ones += sample_token(logits, {}, gen) == 1;
  EXPECT_NEAR(ones / 4000.0, 0.6439, 0.03);
  EXPECT_THROW(sample_token(logits, {.top_p = 0}, gen), Error);
  EXPECT_THROW(sample_token(logits, {.temperature = -1}, gen), Error);
}

TEST(Generation, RunsPastTheContextWithASlidingWindow) {
  manual_seed(2);
  GPT model(GPTConfig{.vocab_size = 7, .context = 8, .n_layer = 1, .n_head = 1, .n_embd = 8});
  Generator gen(1);
  std::vector<int64_t> streamed;
  std::vector<int64_t> out = generate(model, {1, 2, 3}, 30, {}, gen, [&](int64_t id) { streamed.push_back(id); });
  EXPECT_EQ(out.size(), 30u);
  EXPECT_EQ(out, streamed);
  for (int64_t id : out) EXPECT_TRUE(id >= 0 && id < 7);
  EXPECT_THROW(generate(model, {9}, 3, {}, gen), Error);  // a token outside the vocabulary
  EXPECT_TRUE(model.is_training());                       // generate restores the mode
}
