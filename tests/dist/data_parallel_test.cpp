// Data-parallel training over MPI, run by CTest as `mpirun -np 2 dist_test` (over shared memory,
// and again over TCP). The equivalence of issue 6: 2 ranks x batch 16 end 20 steps with the same
// parameters as one process x batch 32 on the same data order (1e-5 relative), for the MLP, the
// Keras-style CNN and the GPT small config; metrics are the global ones; collectives and the
// distributed sampler behave.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "nabla/models/classifiers.h"
#include "nabla/models/gpt.h"
#include "nabla/nabla.h"

using namespace nabla;

namespace {

using ModuleFactory = std::function<std::shared_ptr<nn::Module>()>;

// Every parameter element within 1e-5 relative, with float32's usual absolute floor of 1e-5
// (torch.testing's atol) for elements near zero: the attention key bias, whose gradient is
// rounding noise by construction (softmax ignores a shift shared by all keys), differs by ~1e-6
// between any two summation orders once Adam has normalised that noise.
void expect_same_parameters(nn::Module& a, nn::Module& b, double rtol, double atol = 1e-5) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    std::vector<float> x = pa[i].second.contiguous().to_vector<float>(),
                       y = pb[i].second.contiguous().to_vector<float>();
    double diff = 0, norm = 0, worst = 0;
    int reported = 0;
    for (size_t j = 0; j < x.size(); ++j) {
      const double d = std::fabs(double(x[j]) - double(y[j]));
      diff += d * d;
      norm += double(y[j]) * double(y[j]);
      worst = std::max(worst, d);
      if (d > atol + rtol * std::fabs(double(y[j])) && reported++ < 3)
        ADD_FAILURE() << "rank " << dist::rank() << ": " << pa[i].first << "[" << j << "] = " << x[j] << " vs " << y[j];
    }
    if (getenv("NABLA_TEST_VERBOSE") && dist::rank() == 0)
      std::printf("%s: relative (L2) %.3g, largest element difference %.3g\n", pa[i].first.c_str(),
                  std::sqrt(diff / std::max(norm, 1e-30)), worst);
  }
}

struct Trained {
  std::shared_ptr<nn::Module> module;
  train::History history;
};

// 20 steps of fit from the factory's (seeded) initial weights, distributed or alone.
Trained train_steps(const ModuleFactory& make, std::shared_ptr<const data::Dataset> data, bool distributed,
                    int64_t batch, const std::string& optimizer, double lr, double clip, const std::string& loss,
                    std::vector<std::string> metrics) {
  manual_seed(123);  // the same weights and epoch order in both runs
  Trained t{make(), {}};
  train::Model model(t.module);
  std::shared_ptr<optim::Optimizer> opt;
  if (optimizer == "adamw")
    opt = std::make_shared<optim::AdamW>(t.module->parameters(), optim::AdamWOptions{.lr = lr, .weight_decay = 0.1});
  else
    opt = optim::make_optimizer(optimizer, t.module->parameters(), {.lr = lr});
  model.compile(opt, train::make_loss(loss), metrics, loss);
  model.distribute(distributed);
  train::FitOptions fit;
  fit.epochs = 1;
  fit.batch_size = batch;
  fit.steps_per_epoch = 20;
  fit.clip_grad_norm = clip;
  fit.verbose = 0;
  t.history = model.fit(data, fit);
  return t;
}

void expect_equivalent(const ModuleFactory& make, std::shared_ptr<const data::Dataset> data,
                       const std::string& optimizer, double lr, double clip, const std::string& loss,
                       std::vector<std::string> metrics, double tolerance) {
  ASSERT_EQ(dist::world_size(), 2) << "run under mpirun -np 2";
  Trained alone = train_steps(make, data, false, 32, optimizer, lr, clip, loss, metrics);
  Trained ranks = train_steps(make, data, true, 16, optimizer, lr, clip, loss, metrics);
  expect_same_parameters(*ranks.module, *alone.module, tolerance);
  // The logged metrics are those of all 32 x 20 samples, on every rank.
  for (const auto& [name, values] : alone.history.history)
    EXPECT_NEAR(ranks.history.history.at(name).back(), values.back(), 1e-5 * std::max(1.0, std::fabs(values.back())))
        << "rank " << dist::rank() << ": " << name;
}

std::shared_ptr<const data::Dataset> fashion_subset(int64_t n) {
  data::FashionMnist train = data::load_fashion_mnist("train", data::default_fashion_mnist_dir(), n);
  return std::make_shared<data::TensorDataset>(train.images, train.labels);
}

}  // namespace

TEST(Equivalence, MlpTwoRanksOfSixteenMatchOneProcessOfThirtyTwo) {
  expect_equivalent(
      [] {
        return models::make_mlp(784, {256, 256}, 10, 0.0);
      },
      fashion_subset(640), "adam", 1e-3, 0, "sparse_categorical_crossentropy", {"accuracy"}, 1e-5);
}

TEST(Equivalence, FashionCnnTwoRanksOfSixteenMatchOneProcessOfThirtyTwo) {
  expect_equivalent([] { return models::make_fashion_cnn(10, 0.0); }, fashion_subset(640), "adam", 1e-3, 0,
                    "sparse_categorical_crossentropy", {"accuracy"}, 1e-5);
}

TEST(Equivalence, GptSmallTwoRanksOfSixteenMatchOneProcessOfThirtyTwo) {
  // configs/gpt.json's model and optimizer (dropout off: masks are per process) on KJV characters.
  std::string text = data::read_text_file(data::default_kjv_path()).substr(0, 200000);
  auto tokenizer = data::CharTokenizer::from_corpus(text);
  std::vector<int64_t> ids = tokenizer.encode(text);
  const int64_t context = 128, windows = 640;
  Tensor x = Tensor::empty({windows, context}, DType::i64), y = Tensor::empty({windows, context}, DType::i64);
  for (int64_t w = 0; w < windows; ++w)
    for (int64_t t = 0; t < context; ++t) {
      x.data<int64_t>()[w * context + t] = ids[size_t(w * context + t)];
      y.data<int64_t>()[w * context + t] = ids[size_t(w * context + t + 1)];
    }
  const int64_t vocab = tokenizer.vocab_size();
  expect_equivalent(
      [vocab] {
        return std::make_shared<models::GPT>(models::GPTConfig{
            .vocab_size = vocab, .context = 128, .n_layer = 4, .n_head = 4, .n_embd = 256, .dropout = 0});
      },
      std::make_shared<data::TensorDataset>(x, y), "adamw", 1e-3, 1.0, "sparse_categorical_crossentropy", {}, 1e-5);
}

TEST(Collectives, AllReduceBroadcastGatherAndCheckSame) {
  const int rank = dist::rank();
  Tensor t = full({5}, double(rank + 1));
  dist::all_reduce(t);
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(5, 3.0f));
  Tensor m = full({2}, double(rank * 10), DType::i64);
  dist::all_reduce(m, dist::ReduceOp::max);
  EXPECT_EQ(m.to_vector<int64_t>(), std::vector<int64_t>(2, 10));
  Tensor b = full({3}, double(rank + 7));
  dist::broadcast(b, 1);
  EXPECT_EQ(b.to_vector<float>(), std::vector<float>(3, 8.0f));
  std::string mine = "r";
  mine += std::to_string(rank);  // (operator+ here trips a GCC 12 -Wrestrict false positive)
  EXPECT_EQ(dist::all_gather(mine), (std::vector<std::string>{"r0", "r1"}));
  dist::check_same_on_all_ranks("a = 1\nb = 2\n", "the config");
  try {
    dist::check_same_on_all_ranks(rank == 1 ? "a = 1\nb = 3\n" : "a = 1\nb = 2\n", "the config");
    ADD_FAILURE() << "a mismatch must throw on every rank";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the config differs between ranks: rank 1 has b = 3 where rank 0 has b = 2"),
              std::string::npos)
        << e.what();
  }
}

TEST(DataParallel, StartsFromRankZerosWeightsAndRejectsDifferentModels) {
  manual_seed(uint64_t(dist::rank()) + 1);  // different initial weights per rank
  auto net = models::make_mlp(6, {5}, 3, 0.0);
  dist::DistributedDataParallel ddp(net);
  std::vector<float> mine = net->named_parameters()[0].second.to_vector<float>();
  Tensor first = tensor(mine);
  dist::broadcast(first, 0);
  EXPECT_EQ(mine, first.to_vector<float>()) << "rank " << dist::rank();

  auto other = models::make_mlp(6, {dist::rank() == 0 ? 5 : 4}, 3, 0.0);
  try {
    dist::DistributedDataParallel mismatch(other);
    ADD_FAILURE() << "different parameter shapes must fail on every rank";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the model differs between ranks: rank 1 has parameter"), std::string::npos)
        << e.what();
  }
}

TEST(DataParallel, UnevenLastBatchAndNoSyncAccumulationMatchOneProcess) {
  // 7 samples over 2 ranks with batch 2: the last step has 3 samples (2 + 1), and gradients must
  // weigh them as one mean over 3. Checked against the single-process gradient of the full batch.
  manual_seed(9);
  auto net = models::make_mlp(4, {3}, 2, 0.0);
  auto twin = models::make_mlp(4, {3}, 2, 0.0);
  twin->load_state_dict(net->state_dict());
  dist::DistributedDataParallel ddp(net);
  Tensor x = randn({7, 4}), y = randint(0, 2, {7});
  const std::vector<int64_t> mine = dist::rank() == 0 ? std::vector<int64_t>{4, 6} : std::vector<int64_t>{5};
  Tensor idx = Tensor::empty({int64_t(mine.size())}, DType::i64);
  std::copy(mine.begin(), mine.end(), idx.data<int64_t>());
  ddp.set_sample_counts(int64_t(mine.size()), 3);
  cross_entropy(net->forward(index_select(x, 0, idx)), index_select(y, 0, idx)).backward();
  Tensor all = arange(4.0, 7.0, 1.0, DType::i64);
  cross_entropy(twin->forward(index_select(x, 0, all)), index_select(y, 0, all)).backward();
  expect_same_parameters(*net, *twin, 0, 0);  // unchanged weights: a sanity check of the copy
  auto grads = net->named_parameters(), expected = twin->named_parameters();
  for (size_t i = 0; i < grads.size(); ++i) {
    std::vector<float> g = grads[i].second.grad().to_vector<float>(), e = expected[i].second.grad().to_vector<float>();
    for (size_t j = 0; j < g.size(); ++j) EXPECT_NEAR(g[j], e[j], 1e-6) << grads[i].first;
  }

  // Under NoSync the gradient stays local; the next synchronised backward reduces the sum.
  for (auto& [name, p] : net->named_parameters()) p.grad().zero_();
  ddp.set_sample_counts(1, 2);
  Tensor one = x.narrow(0, dist::rank(), 1), label = y.narrow(0, dist::rank(), 1);
  {
    dist::DistributedDataParallel::NoSync local(ddp);
    cross_entropy(net->forward(one), label).backward();
  }
  Tensor local_grad = net->named_parameters()[0].second.grad().clone();
  EXPECT_NE(local_grad.to_vector<float>(), std::vector<float>(size_t(local_grad.numel()), 0.0f));
  cross_entropy(net->forward(one), label).backward();  // synchronised: the mean over ranks of 2 x local
  std::vector<float> reduced = net->named_parameters()[0].second.grad().to_vector<float>();
  Tensor sum = mul(local_grad, 2.0);
  dist::all_reduce(sum);
  std::vector<float> expect = mul(sum, 0.5).to_vector<float>();
  for (size_t j = 0; j < reduced.size(); ++j) EXPECT_NEAR(reduced[j], expect[j], 1e-6);
}

int main(int argc, char** argv) {
  dist::init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (dist::rank() != 0) {  // one report: the other ranks' failures still fail the exit code
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  std::vector<double> any = {double(failed != 0)};
  dist::all_reduce(any);
  return any[0] > 0 ? 1 : 0;
}
