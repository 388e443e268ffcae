// Model: compile/fit/evaluate/predict, callbacks, and exact resume after an interruption.
#include "nabla/train/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "nabla/nabla.h"

using namespace nabla;
using namespace nabla::train;
namespace fs = std::filesystem;

namespace {

// A separable 3-class problem: the class is the argmax of the first three features.
std::pair<Tensor, Tensor> toy_data(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Tensor x = randn({n, 6}, gen);
  Tensor y = argmax(x.narrow(1, 0, 3), 1);
  return {x, y};
}

std::shared_ptr<nn::Sequential> small_mlp(bool dropout = false) {
  auto net = std::make_shared<nn::Sequential>();
  net->add(std::make_shared<nn::Linear>(6, 16));
  net->add(std::make_shared<nn::ReLU>());
  if (dropout) net->add(std::make_shared<nn::Dropout>(0.2));
  net->add(std::make_shared<nn::Linear>(16, 3));
  return net;
}

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "nabla_model_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}

}  // namespace

TEST(Model, FitLearnsAndReportsKerasHistory) {
  manual_seed(1);
  auto [x, y] = toy_data(600, 2);
  Model model(small_mlp());
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"}, 0.01);
  FitOptions options;
  options.epochs = 8;
  options.batch_size = 32;
  options.validation_split = 0.2;
  options.verbose = 0;
  History h = model.fit(x, y, options);
  ASSERT_EQ(h.epochs.size(), 8u);
  for (const char* key : {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}) EXPECT_EQ(h[key].size(), 8u) << key;
  EXPECT_LT(h["loss"].back(), 0.5 * h["loss"].front());
  EXPECT_GT(h["val_accuracy"].back(), 0.9);
  Logs result = model.evaluate(x, y, 64);
  EXPECT_GT(result["accuracy"], 0.9);
  Tensor p = model.predict(x.narrow(0, 0, 70), 32);
  EXPECT_EQ(p.shape(), Shape({70, 3}));
  EXPECT_FALSE(p.requires_grad());
}

TEST(Model, BadArgumentsAreClearErrors) {
  Model model(small_mlp());
  auto [x, y] = toy_data(10, 3);
  EXPECT_THROW(model.fit(x, y), Error);  // not compiled
  EXPECT_THROW(model.compile("adamx", "mse"), Error);
  EXPECT_THROW(model.compile("adam", "hinge_loss"), Error);
  EXPECT_THROW(model.compile("adam", "mse", {"f1"}), Error);
  model.compile("sgd", "sparse_categorical_crossentropy", {"accuracy"});
  try {
    model.fit(x, y.narrow(0, 0, 7));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("same length"), std::string::npos) << e.what();
  }
  FitOptions bad;
  bad.validation_split = 1.5;
  EXPECT_THROW(model.fit(x, y, bad), Error);
}

TEST(Model, CallbacksStopEarlyLogAndScheduleTheLearningRate) {
  manual_seed(4);
  auto [x, y] = toy_data(200, 5);
  Model model(small_mlp());
  model.compile("sgd", "sparse_categorical_crossentropy", {"accuracy"}, 0.1);
  auto early = std::make_shared<EarlyStopping>("loss", 10.0, 1);  // min_delta too big to ever improve
  auto schedule =
      std::make_shared<LearningRateScheduler>([](int epoch, double lr) { return epoch == 0 ? lr : lr * 0.5; });
  fs::path csv = temp_dir("callbacks_log.csv");
  FitOptions options;
  options.epochs = 10;
  options.verbose = 0;
  options.callbacks = {early, schedule, std::make_shared<CSVLogger>(csv.string())};
  History h = model.fit(x, y, options);
  EXPECT_EQ(h.epochs.size(), 2u);  // epoch 1 sets the best; epoch 2 does not improve and patience is 1
  EXPECT_EQ(early->stopped_epoch, 2);
  EXPECT_DOUBLE_EQ(h["lr"][0], 0.1);
  EXPECT_DOUBLE_EQ(h["lr"][1], 0.05);
  EXPECT_TRUE(fs::exists(csv));
}

// Keras 3's restore_best_weights: at the end the weights are the best epoch's, even when training
// ran to the last epoch without stopping early.
TEST(Model, EarlyStoppingRestoresTheBestEpochsWeightsWithoutStopping) {
  manual_seed(5);
  auto [x, y] = toy_data(200, 6);
  Model model(small_mlp());
  model.compile("sgd", "sparse_categorical_crossentropy", {}, 0.1);
  struct Snapshots : Callback {  // the weights after every epoch
    std::vector<std::map<std::string, std::vector<float>>> after;
    void on_epoch_end(int, Logs&) override {
      after.emplace_back();
      for (const auto& [name, t] : model().module().state_dict()) after.back()[name] = t.to_vector<float>();
    }
  };
  auto snapshots = std::make_shared<Snapshots>();
  // A learning rate of 5 from the third epoch on makes the loss climb: an early epoch stays the best.
  auto wreck = std::make_shared<LearningRateScheduler>([](int epoch, double lr) { return epoch >= 2 ? 5.0 : lr; });
  auto early = std::make_shared<EarlyStopping>("loss", 0, 100, "auto", true);
  FitOptions options;
  options.epochs = 5;
  options.verbose = 0;
  options.callbacks = {wreck, snapshots, early};
  History h = model.fit(x, y, options);
  ASSERT_EQ(h.epochs.size(), 5u);
  EXPECT_EQ(early->stopped_epoch, 0);
  const auto& loss = h["loss"];
  const size_t best = size_t(std::min_element(loss.begin(), loss.end()) - loss.begin());
  ASSERT_LT(best, 4u) << "the loss should have climbed after the learning rate jumped";
  for (const auto& [name, t] : model.module().state_dict())
    EXPECT_EQ(t.to_vector<float>(), snapshots->after[best].at(name)) << name;
}

// The learning rates Keras' ReduceLROnPlateau sets for one series of val_loss values, from its
// on_epoch_end run by hand (keras/src/callbacks/reduce_lr_on_plateau.py, min_delta 1e-4).
TEST(Model, ReduceLROnPlateauCutsWhereKerasDoes) {
  const std::vector<double> val_loss = {1.0,  0.9,  0.95, 0.96, 0.97, 0.89, 0.9,
                                        0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97};
  struct Case {
    int patience, cooldown;
    double min_lr;
    std::vector<double> lrs;
  };
  const Case cases[] = {
      {2, 2, 0.1, {1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.1}},
      {0,
       0,
       0.0,
       {1.0, 1.0, 0.5, 0.25, 0.125, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625, 0.001953125, 0.0009765625,
        0.00048828125}},
      {3, 1, 0.2, {1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2}},
  };
  for (const Case& c : cases) {
    Model model(small_mlp());
    model.compile("sgd", "sparse_categorical_crossentropy", {}, 1.0);
    ReduceLROnPlateau plateau("val_loss", 0.5, c.patience, "auto", 1e-4, c.cooldown, c.min_lr);
    plateau.set_model(&model);
    Logs begin;
    plateau.on_train_begin(begin);
    for (size_t e = 0; e < val_loss.size(); ++e) {
      Logs logs = {{"val_loss", val_loss[e]}};
      plateau.on_epoch_end(int(e), logs);
      EXPECT_DOUBLE_EQ(model.learning_rate(), c.lrs[e])
          << "patience " << c.patience << ", cooldown " << c.cooldown << ", epoch " << e + 1;
      EXPECT_DOUBLE_EQ(logs["lr"], c.lrs[e]);
    }
  }
}

TEST(Model, TerminateOnNaNStopsTheRun) {
  auto [x, y] = toy_data(64, 6);
  Model model(small_mlp());
  model.compile("sgd", "sparse_categorical_crossentropy", {}, 1e30);  // diverges at once
  FitOptions options;
  options.epochs = 3;
  options.batch_size = 8;
  options.verbose = 0;
  options.callbacks = {std::make_shared<TerminateOnNaN>()};
  History h = model.fit(x, y, options);
  EXPECT_EQ(h.epochs.size(), 1u);
}

TEST(Model, ANaNLossIsAnErrorNamingWhereItHappened) {
  auto [x, y] = toy_data(64, 6);
  Model model(small_mlp());
  model.compile("sgd", "sparse_categorical_crossentropy", {}, 1e30);
  FitOptions options;
  options.epochs = 3;
  options.batch_size = 8;
  options.verbose = 0;
  try {
    model.fit(x, y, options);
    FAIL() << "a diverging run must not continue silently";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("epoch 1, batch"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("TerminateOnNaN"), std::string::npos) << e.what();
  }
}

namespace {
// Logits of a small MLP plus 0 * sqrt(gate): the loss stays finite, but with gate = 0 the
// gradient of gate is inf * 0 = NaN, the case of a gradient going bad under a finite loss.
class NanGradientNet : public nn::Module {
 public:
  NanGradientNet() : Module("NanGradientNet") {
    mlp = register_module("mlp", small_mlp());
    gate = register_parameter("gate", zeros({1}));
  }
  Tensor forward(const Tensor& x) override { return add(mlp->forward(x), mul(sqrt(gate), 0.0)); }
  std::shared_ptr<nn::Sequential> mlp;
  Tensor gate;
};

std::map<std::string, std::vector<float>> weights_of(nn::Module& m) {
  std::map<std::string, std::vector<float>> out;
  for (auto& [name, p] : m.named_parameters()) out[name] = p.to_vector<float>();
  return out;
}
}  // namespace

TEST(Model, ANaNGradientUnderAFiniteLossStopsWithTheParameterNameAndLeavesTheWeights) {
  auto [x, y] = toy_data(64, 6);
  auto net = std::make_shared<NanGradientNet>();
  const auto before = weights_of(*net);
  Model model(net);
  model.compile("adam", "sparse_categorical_crossentropy");
  FitOptions options;
  options.batch_size = 8;
  options.verbose = 0;
  try {
    model.fit(x, y, options);
    FAIL() << "a NaN gradient must not be applied silently";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the gradient of gate became NaN/Inf"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("epoch 1, batch 1 of 8"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("the weights were not updated"), std::string::npos) << e.what();
  }
  EXPECT_EQ(weights_of(*net), before);
}

TEST(Model, SkippingNonFiniteStepsKeepsTrainingAndGivesUpAfterTenInARow) {
  auto [x, y] = toy_data(64, 6);
  // Two batches of eight carry a NaN input: their loss is NaN, the other six train.
  std::vector<float> xv = x.to_vector<float>();
  xv[3 * 6] = NAN;   // batch 1 (no shuffle)
  xv[40 * 6] = NAN;  // batch 6
  Tensor poisoned = tensor(xv, x.shape());
  Model model(small_mlp());
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  FitOptions options;
  options.batch_size = 8;
  options.epochs = 3;
  options.shuffle = false;
  options.verbose = 0;
  options.on_nonfinite = FitOptions::NonFinite::skip;
  History h = model.fit(poisoned, y, options);
  ASSERT_EQ(h.epochs.size(), 3u);
  for (double loss : h["loss"]) EXPECT_TRUE(std::isfinite(loss)) << "skipped steps stay out of the mean";
  EXPECT_LT(h["loss"][2], h["loss"][0]) << "the other batches still train";
  for (auto& [name, w] : weights_of(model.module()))
    for (float v : w) ASSERT_TRUE(std::isfinite(v)) << name;

  Tensor all_nan = full(x.shape(), NAN);
  try {
    model.fit(all_nan, y, options);
    FAIL() << "endless non-finite steps must stop the run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("10 steps in a row had a non-finite loss or gradient"), std::string::npos)
        << e.what();
  }
}

TEST(Model, SaveAndLoadRoundTripThroughACheckpoint) {
  auto [x, y] = toy_data(100, 7);
  Model a(small_mlp());
  a.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  FitOptions options;
  options.epochs = 1;
  options.verbose = 0;
  a.fit(x, y, options);
  fs::path dir = temp_dir("saved");
  a.save(dir.string(), 1);
  Model b(small_mlp());
  b.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  EXPECT_EQ(b.load(dir.string()), 1);
  EXPECT_EQ(a.predict(x).to_vector<float>(), b.predict(x).to_vector<float>());
  // A checkpoint of another architecture is refused with the offending keys named.
  auto other = std::make_shared<nn::Sequential>();
  other->add(std::make_shared<nn::Linear>(6, 4));
  Model c(other);
  try {
    c.load(dir.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected keys"), std::string::npos) << e.what();
  }
}

// With a save interval longer than the run, the first epoch is written at once and the rest are
// held in memory: the final epoch's weights and epoch number (last) and the best epoch's (best)
// are on disk when fit returns, though the epochs in between never were.
TEST(Model, ModelCheckpointIntervalWritesTheFirstAndTheFinalState) {
  manual_seed(3);
  auto [x, y] = toy_data(200, 4);
  Model model(small_mlp());
  model.compile("sgd", "sparse_categorical_crossentropy", {}, 0.1);
  const fs::path last = temp_dir("interval_last"), best = temp_dir("interval_best");
  struct Probe : Callback {  // what is on disk at each epoch's end (after the checkpoints ran)
    fs::path dir;
    std::vector<int> epochs_on_disk;
    void on_epoch_end(int, Logs&) override {
      epochs_on_disk.push_back(fs::exists(dir) ? io::load_checkpoint(dir.string()).state.value("epoch", -1) : -1);
    }
  };
  auto probe = std::make_shared<Probe>();
  probe->dir = last;
  FitOptions options;
  options.epochs = 4;
  options.verbose = 0;
  options.shuffle = false;
  options.callbacks = {std::make_shared<ModelCheckpoint>(last.string(), "loss", false, "auto", 3600),
                       std::make_shared<ModelCheckpoint>(best.string(), "loss", true, "auto", 3600), probe};
  History h = model.fit(x, y, options);
  EXPECT_EQ(probe->epochs_on_disk, (std::vector<int>{1, 1, 1, 1}));  // only the first epoch was written
  io::Checkpoint written = io::load_checkpoint(last.string());
  EXPECT_EQ(written.state.value("epoch", -1), 4);
  for (const auto& [name, t] : model.module().state_dict())
    EXPECT_EQ(written.model.at(name).to_vector<float>(), t.to_vector<float>()) << name;
  // SGD on this problem lowers the loss every epoch: the best is the last.
  ASSERT_LT(h["loss"].back(), h["loss"].front());
  EXPECT_EQ(io::load_checkpoint(best.string()).state.value("epoch", -1), 4);
  EXPECT_THROW(ModelCheckpoint(last.string(), "loss", false, "auto", -1), Error);
}

TEST(Model, InterruptedAndResumedRunIsBitIdentical) {
  auto [x, y] = toy_data(300, 8);
  auto run = [&](bool interrupt, const fs::path& backup) {
    manual_seed(11);
    Model model(small_mlp(/*dropout=*/true));  // dropout and shuffling both draw from the RNG
    model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
    FitOptions options;
    options.epochs = 4;
    options.batch_size = 16;
    options.verbose = 0;
    options.callbacks = {std::make_shared<BackupAndRestore>(backup.string())};
    if (interrupt) {
      auto kill = std::make_shared<LambdaCallback>();
      kill->epoch_end = [&model](int epoch, Logs&) {
        if (epoch == 1) model.stop_training = true;  // "killed" after epoch 2
      };
      options.callbacks.push_back(kill);
      model.fit(x, y, options);
      // A new process: fresh weights from another seed, then resume from the backup.
      manual_seed(999);
      Model resumed(small_mlp(true));
      resumed.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
      options.callbacks = {std::make_shared<BackupAndRestore>(backup.string())};
      History h = resumed.fit(x, y, options);
      EXPECT_EQ(h.epochs, std::vector<int>({3, 4}));
      return resumed.module().state_dict();
    }
    model.fit(x, y, options);
    return model.module().state_dict();
  };
  auto uninterrupted = run(false, temp_dir("backup_a"));
  auto resumed = run(true, temp_dir("backup_b"));
  for (auto& [name, t] : uninterrupted)
    EXPECT_EQ(t.to_vector<float>(), resumed.at(name).to_vector<float>()) << name << " differs after resume";
}

TEST(Model, FitReadsAnyDataset) {
  // A dataset computed on demand: sample i is a one-hot of (i mod 3) plus noise, label i mod 3.
  class Generated : public Dataset {
   public:
    int64_t size() const override { return 240; }
    std::pair<Tensor, Tensor> batch(const Tensor& indices) const override {
      const int64_t n = indices.numel();
      Tensor x = mul(randn({n, 6}), 0.1);
      std::vector<int64_t> labels;
      for (int64_t i = 0; i < n; ++i) {
        int64_t label = indices.at<int64_t>({i}) % 3;
        labels.push_back(label);
        NoGradGuard no_grad;
        x[i].select(0, label).fill_(1.0);
      }
      return {x, tensor_i64(labels)};
    }
  };
  manual_seed(5);
  Model model(small_mlp());
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"}, 0.01);
  FitOptions options;
  options.epochs = 5;
  options.verbose = 0;
  options.validation_split = 0.25;
  History h = model.fit(std::make_shared<Generated>(), options);
  EXPECT_GT(h["val_accuracy"].back(), 0.95);
  EXPECT_GT(model.evaluate(Generated(), 64)["accuracy"], 0.95);
}

TEST(Model, TrainOnBatchStepsLikeOneFitStep) {
  auto [x, y] = toy_data(32, 5);
  manual_seed(3);
  Model stepped(small_mlp());
  stepped.compile("sgd", "sparse_categorical_crossentropy", {}, 0.1);
  manual_seed(3);
  Model fitted(small_mlp());
  fitted.compile("sgd", "sparse_categorical_crossentropy", {}, 0.1);
  // One full batch without shuffling: fit's single step must equal train_on_batch's.
  const double first = stepped.train_on_batch(x, y);
  FitOptions options;
  options.epochs = 1;
  options.batch_size = 32;
  options.shuffle = false;
  options.verbose = 0;
  fitted.fit(x, y, options);
  auto a = stepped.module().parameters(), b = fitted.module().parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT(max(abs(sub(a[i], b[i]))).item<float>(), 1e-6f) << "parameter " << i;
  double last = first;
  for (int i = 0; i < 100; ++i) last = stepped.train_on_batch(x, y, 1.0);
  EXPECT_LT(last, 0.5 * first);

  Tensor bad = x.clone();
  bad.data<float>()[0] = NAN;
  EXPECT_THROW(
      {
        try {
          stepped.train_on_batch(bad, y);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("train_on_batch: the loss became nan"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
}
