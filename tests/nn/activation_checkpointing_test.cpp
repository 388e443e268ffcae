// Activation checkpointing: the same outputs and exactly the same gradients as the plain forward
// (dropout masks replayed, the generator left where the plain run leaves it), with far fewer
// activations alive between forward and backward.
#include <gtest/gtest.h>

#include "nabla/core/allocator.h"
#include "nabla/models/gpt.h"
#include "nabla/nabla.h"

using namespace nabla;

namespace {

struct StepResult {
  std::vector<float> logits;
  std::map<std::string, std::vector<float>> grads;
  uint64_t live_bytes_after_forward = 0;
  Generator::State rng_after;
};

StepResult train_step(bool checkpointing) {
  manual_seed(21);
  models::GPT model({.vocab_size = 50,
                     .context = 64,
                     .n_layer = 3,
                     .n_head = 4,
                     .n_embd = 64,
                     .dropout = 0.1,
                     .activation_checkpointing = checkpointing});
  Tensor tokens = randint(0, 50, {8, 64}), targets = randint(0, 50, {8, 64});
  StepResult run;
  const uint64_t before = CachingAllocator::instance().stats().bytes_in_use;
  Tensor logits = model.forward(tokens);  // training mode: dropout draws masks
  Tensor loss = cross_entropy(logits.reshape({-1, 50}), targets.reshape({-1}));
  run.live_bytes_after_forward = CachingAllocator::instance().stats().bytes_in_use - before;
  loss.backward();
  run.logits = logits.to_vector<float>();
  for (auto& [name, p] : model.named_parameters()) run.grads[name] = p.grad().to_vector<float>();
  run.rng_after = default_generator().state();
  return run;
}

}  // namespace

TEST(Checkpoint, GptGradientsAreIdenticalWithFarLessLiveActivationMemory) {
  const StepResult plain = train_step(false), checkpointed = train_step(true);
  EXPECT_EQ(checkpointed.logits, plain.logits);
  ASSERT_EQ(checkpointed.grads.size(), plain.grads.size());
  for (auto& [name, g] : plain.grads) EXPECT_EQ(checkpointed.grads.at(name), g) << name;
  EXPECT_EQ(checkpointed.rng_after, plain.rng_after) << "the replay must leave the generator as it found it";
  // Three blocks each keep ~a dozen [8, 64, 64..256] activations without checkpointing; with it
  // only the block inputs stay alive.
  EXPECT_LT(double(checkpointed.live_bytes_after_forward), 0.5 * double(plain.live_bytes_after_forward))
      << checkpointed.live_bytes_after_forward << " vs " << plain.live_bytes_after_forward << " bytes";
}

TEST(Checkpoint, InputGradientAndNoGradPassThrough) {
  manual_seed(5);
  auto layer = std::make_shared<nn::Linear>(6, 6);
  auto fn = [layer](const Tensor& x) { return tanh(layer->forward(gelu(x))); };
  Tensor x = randn({4, 6}).requires_grad_();
  Tensor w = randn({4, 6});
  sum(mul(nn::checkpoint(fn, x), w)).backward();
  std::vector<float> dx = x.grad().to_vector<float>(), dweight = layer->weight.grad().to_vector<float>();
  for (Tensor* t : {&x, &layer->weight, &layer->bias}) t->grad().zero_();
  sum(mul(fn(x), w)).backward();
  EXPECT_EQ(dx, x.grad().to_vector<float>());
  EXPECT_EQ(dweight, layer->weight.grad().to_vector<float>());

  NoGradGuard no_grad;
  Tensor y = nn::checkpoint(fn, x);
  EXPECT_FALSE(y.requires_grad());
}

TEST(Checkpoint, ParametersGetGradientsEvenWhenTheInputNeedsNone) {
  manual_seed(6);
  auto layer = std::make_shared<nn::Linear>(3, 2);
  Tensor x = randn({5, 3});  // data, no grad
  Tensor y = nn::checkpoint([layer](const Tensor& in) { return layer->forward(in); }, x);
  ASSERT_TRUE(y.requires_grad());
  sum(y).backward();
  ASSERT_TRUE(layer->bias.grad().defined());
  EXPECT_EQ(layer->bias.grad().to_vector<float>(), std::vector<float>({5.0f, 5.0f}));
  EXPECT_FALSE(x.grad().defined());
}
