// Optimizer behaviour beyond the PyTorch goldens: option checking, gradients that are missing or
// wrong, versions, the threaded path for large tensors, and gradient accumulation.
#include "optim_test_util.h"

namespace nabla::optim_test {
namespace {

// Runs f and checks it throws a nabla::Error whose message contains every fragment.
template <typename F>
void expect_error(F f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected a nabla::Error";
  } catch (const Error& e) {
    for (const char* fragment : fragments)
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "missing \"" << fragment << "\" in: " << e.what();
  }
}

std::vector<Tensor> two_params() { return {randn({4, 3}).requires_grad_(), randn({3}).requires_grad_()}; }

TEST(OptimizerOptions, InvalidHyperParametersNameTheOption) {
  auto p = two_params;
  expect_error([&] { optim::SGD(p(), {.lr = -0.1}); }, {"SGD", "lr", "-0.1"});
  expect_error([&] { optim::SGD(p(), {.lr = 0.1, .momentum = -0.5}); }, {"momentum"});
  expect_error([&] { optim::SGD(p(), {.lr = 0.1, .weight_decay = -1}); }, {"weight_decay"});
  expect_error([&] { optim::SGD(p(), {.lr = 0.1, .nesterov = true}); }, {"nesterov", "momentum > 0"});
  expect_error([&] { optim::SGD(p(), {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
               {"nesterov", "dampening"});
  expect_error([&] { optim::Adam(p(), {.betas = {1.0, 0.999}}); }, {"Adam", "beta1", "[0, 1)"});
  expect_error([&] { optim::Adam(p(), {.betas = {0.9, -0.1}}); }, {"beta2"});
  expect_error([&] { optim::Adam(p(), {.eps = -1e-8}); }, {"eps"});
  expect_error([&] { optim::AdamW(p(), {.weight_decay = -0.01}); }, {"AdamW", "weight_decay"});
  expect_error([&] { optim::Adagrad(p(), {.lr_decay = -1}); }, {"Adagrad", "lr_decay"});
  expect_error([&] { optim::Adagrad(p(), {.initial_accumulator_value = -1}); }, {"initial_accumulator_value"});
  expect_error([&] { optim::RMSprop(p(), {.alpha = -0.5}); }, {"RMSprop", "alpha"});
  expect_error([&] { optim::RMSprop(p(), {.momentum = -0.5}); }, {"momentum"});
  expect_error([&] { optim::RMSprop(p(), {.lr = std::nan("")}); }, {"lr"});
}

TEST(OptimizerOptions, DefaultsMatchPyTorch) {
  optim::SGD sgd(two_params());
  EXPECT_EQ(sgd.param_groups()[0].lr, 1e-3);
  EXPECT_EQ(sgd.param_groups()[0].option("momentum"), 0.0);
  optim::Adam adam(two_params());
  EXPECT_EQ(adam.param_groups()[0].lr, 1e-3);
  EXPECT_EQ(adam.param_groups()[0].weight_decay, 0.0);
  EXPECT_EQ(adam.param_groups()[0].option("beta1"), 0.9);
  EXPECT_EQ(adam.param_groups()[0].option("beta2"), 0.999);
  EXPECT_EQ(adam.param_groups()[0].option("eps"), 1e-8);
  optim::AdamW adamw(two_params());
  EXPECT_EQ(adamw.name(), "AdamW");
  EXPECT_EQ(adamw.param_groups()[0].weight_decay, 0.01);
  optim::Adagrad adagrad(two_params());
  EXPECT_EQ(adagrad.param_groups()[0].lr, 1e-2);
  EXPECT_EQ(adagrad.param_groups()[0].option("eps"), 1e-10);
  optim::RMSprop rmsprop(two_params());
  EXPECT_EQ(rmsprop.param_groups()[0].lr, 1e-2);
  EXPECT_EQ(rmsprop.param_groups()[0].option("alpha"), 0.99);
  expect_error([&] { adam.param_groups()[0].option("momentum"); }, {"momentum"});
}

TEST(OptimizerOptions, GroupsOverrideDefaultsAndKeepTheRest) {
  std::vector<Tensor> p = two_params();
  optim::SGD sgd({optim::ParamGroup({p[0]}, 0.5),
                  optim::ParamGroup({p[1]}, optim::ParamGroup::kDefault, 0.1, {{"momentum", 0.3}})},
                 {.lr = 0.05, .momentum = 0.9});
  ASSERT_EQ(sgd.param_groups().size(), 2u);
  EXPECT_EQ(sgd.param_groups()[0].lr, 0.5);
  EXPECT_EQ(sgd.param_groups()[0].option("momentum"), 0.9);
  EXPECT_EQ(sgd.param_groups()[1].lr, 0.05);
  EXPECT_EQ(sgd.param_groups()[1].weight_decay, 0.1);
  EXPECT_EQ(sgd.param_groups()[1].option("momentum"), 0.3);
}

TEST(OptimizerOptions, ChangedOptionsAreCheckedAtStep) {
  std::vector<Tensor> p = two_params();
  optim::Adam adam(p);
  adam.param_groups()[0].lr = -1;
  expect_error([&] { adam.step(); }, {"Adam", "lr", "parameter group 0"});
}

TEST(OptimizerParams, BadParameterListsAreRejected) {
  std::vector<Tensor> p = two_params();
  expect_error([&] { optim::SGD(std::vector<Tensor>{}); }, {"SGD", "empty"});
  expect_error([&] { optim::SGD({p[0], p[1], p[0]}); }, {"more than once"});
  expect_error([&] { optim::Adam({optim::ParamGroup({p[0]}), optim::ParamGroup({p[0]})}); }, {"more than once"});
  expect_error([&] { optim::SGD({p[0], mul(p[1], 2.0)}); }, {"not a leaf"});
  expect_error([&] { optim::SGD({p[0], Tensor()}); }, {"undefined"});
  expect_error(
      [&] {
        optim::SGD({optim::ParamGroup({p[0]}, 0.1, 0.0, {{"betas", 0.9}})});
      },
      {"unknown option", "betas"});
  optim::SGD sgd({p[0]});
  expect_error([&] { sgd.add_param_group(optim::ParamGroup({p[0]})); }, {"more than once"});
  sgd.add_param_group(optim::ParamGroup({p[1]}, 0.2));
  EXPECT_EQ(sgd.param_groups()[1].lr, 0.2);
}

TEST(OptimizerStep, BadGradientsAreRejected) {
  std::vector<Tensor> p = two_params();
  optim::SGD sgd(p, {.lr = 0.1});
  p[0].set_grad(zeros({3, 4}));
  expect_error([&] { sgd.step(); }, {"gradient of parameter 0", "[3, 4]", "[4, 3]"});
  p[0].set_grad(zeros({4, 3}, DType::i64));
  expect_error([&] { sgd.step(); }, {"f32"});
}

TEST(OptimizerStep, ZeroGradDropsGradients) {
  std::vector<Tensor> p = two_params();
  optim::Adam adam(p);
  for (Tensor& t : p) t.set_grad(ones_like(t));
  adam.zero_grad();
  for (Tensor& t : p) EXPECT_FALSE(t.grad().defined());
}

TEST(OptimizerStep, ParametersWithoutGradientsAreSkipped) {
  std::vector<Tensor> p = two_params();
  const std::vector<float> before = p[1].to_vector<float>();
  optim::Adam adam(p, {.lr = 0.1, .weight_decay = 0.1});
  p[0].set_grad(ones_like(p[0]));
  adam.step();
  adam.step();
  EXPECT_EQ(p[1].to_vector<float>(), before);  // weight decay does not touch it either
  EXPECT_TRUE(adam.state(0, 1).empty());
  EXPECT_EQ(adam.state(0, 0).step, 2);
  EXPECT_EQ(adam.state(0, 0).buffers.count("exp_avg"), 1u);
}

TEST(OptimizerStep, UpdatesInPlaceBumpsVersionsAndRecordsNoGraph) {
  std::vector<Tensor> p = two_params();
  Tensor alias = p[0].detach();  // shares storage: sees the update
  const uint64_t version = p[0].version();
  optim::SGD sgd(p, {.lr = 0.5});
  p[0].set_grad(ones_like(p[0]));
  const float first = p[0].to_vector<float>()[0];
  sgd.step();
  EXPECT_GT(p[0].version(), version);
  EXPECT_FLOAT_EQ(alias.to_vector<float>()[0], first - 0.5f);
  EXPECT_TRUE(p[0].is_leaf());
  EXPECT_TRUE(p[0].requires_grad());
  EXPECT_TRUE(GradMode::is_enabled());
}

// Tensors above the parallel grain run on OpenMP threads in fixed chunks: the result must not depend
// on the thread count, nor on whether the tensor went through the threaded or the serial path.
TEST(OptimizerStep, LargeTensorsGiveTheSameResultOnAnyThreadCountAndPath) {
  const int64_t n = 100'003;  // not a multiple of the chunk or the vector width
  manual_seed(7);
  const Tensor start = randn({n});
  std::vector<Tensor> grads;
  for (int t = 0; t < 3; ++t) grads.push_back(randn({n}));

  auto run_whole = [&](int threads, auto make) {
    const int saved = num_threads();
    set_num_threads(threads);
    Tensor p = start.clone().requires_grad_();
    auto opt = make(std::vector<Tensor>{p});
    for (const Tensor& g : grads) {
      p.set_grad(g.clone());
      opt->step();
    }
    set_num_threads(saved);
    return p.detach();
  };
  // The same elements as small tensors (each below the grain: the serial loop).
  auto run_pieces = [&](auto make) {
    const int64_t piece = 1000;
    std::vector<Tensor> parts;
    for (int64_t b = 0; b < n; b += piece)
      parts.push_back(start.slice(0, b, std::min(n, b + piece)).clone().requires_grad_());
    auto opt = make(parts);
    for (const Tensor& g : grads) {
      for (size_t k = 0; k < parts.size(); ++k) {
        const int64_t b = int64_t(k) * piece;
        parts[k].set_grad(g.slice(0, b, std::min(n, b + piece)).clone());
      }
      opt->step();
    }
    return cat(parts, 0).detach();
  };
  auto adam = [](std::vector<Tensor> p) {
    return std::make_unique<optim::Adam>(p, optim::AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true});
  };
  auto sgd = [](std::vector<Tensor> p) {
    return std::make_unique<optim::SGD>(p, optim::SGDOptions{.lr = 0.01, .momentum = 0.9, .nesterov = true});
  };
  auto rmsprop = [](std::vector<Tensor> p) {
    return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions{.momentum = 0.5, .centered = true});
  };
  auto adagrad = [](std::vector<Tensor> p) {
    return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions{.lr_decay = 0.1, .weight_decay = 0.01});
  };
  EXPECT_TRUE(bit_equal(run_whole(1, adam), run_whole(2, adam)));
  EXPECT_TRUE(bit_equal(run_whole(2, adam), run_pieces(adam)));
  EXPECT_TRUE(bit_equal(run_whole(2, sgd), run_pieces(sgd)));
  EXPECT_TRUE(bit_equal(run_whole(2, rmsprop), run_pieces(rmsprop)));
  EXPECT_TRUE(bit_equal(run_whole(2, adagrad), run_pieces(adagrad)));
  EXPECT_FALSE(bit_equal(run_whole(2, adam), start));  // it did move
}

// Gradients accumulate across backward() calls, so two micro-batches of 16 with the mean loss
// scaled by 1/2 give the gradient (and so the update) of one batch of 32.
TEST(GradientAccumulation, TwoMicroBatchesEqualOneBatch) {
  manual_seed(3);
  const Tensor x = randn({32, 5}), y = randn({32, 2});
  nn::Linear reference(5, 2);
  const auto initial = reference.state_dict();

  auto train = [&](bool accumulate) {
    auto model = std::make_shared<nn::Linear>(5, 2);
    std::map<std::string, Tensor> copy;
    for (auto& [k, v] : initial) copy[k] = v.clone();
    model->load_state_dict(copy);
    optim::Adam adam(model->parameters(), {.lr = 0.01});
    for (int step = 0; step < 3; ++step) {
      adam.zero_grad();
      if (accumulate) {
        for (int64_t b = 0; b < 32; b += 16)
          mul(mse_loss(model->forward(x.slice(0, b, b + 16)), y.slice(0, b, b + 16)), 0.5).backward();
      } else {
        mse_loss(model->forward(x), y).backward();
      }
      adam.step();
    }
    return model;
  };
  auto whole = train(false), accumulated = train(true);
  EXPECT_TRUE(all_close(accumulated->weight, whole->weight, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(accumulated->bias, whole->bias, 1e-6, 1e-6));
  EXPECT_FALSE(all_close(whole->weight, initial.at("weight"), 1e-3, 1e-3));  // training moved it
}

}  // namespace
}  // namespace nabla::optim_test
