// model.init_from and training.freeze: a run starts from another run's matching weights, reports
// what it loaded, and frozen parameters keep their values while the rest train.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "../error_message.h"
#include "nabla/nabla.h"
#include "run_dirs.h"

using namespace nabla;
using test_support::error_of;
using test_support::quiet_run;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) { return test_support::fresh_run_dir("nabla_init_from_test", name); }

// An MLP ("1": Linear 3 -> 8, "3": Linear 8 -> classes) on inline rows labelled 0 .. classes - 1.
io::json mlp_config(int classes, int epochs) {
  io::json x = io::json::array(), y = io::json::array();
  for (int i = 0; i < 24; ++i) {
    x.push_back({i % 3, (i / 3) % 2, (i % 5) * 0.25});
    y.push_back(i % classes);
  }
  return {{"seed", 5},
          {"data", {{"dataset", "inline"}, {"task", "classification"}, {"x", x}, {"y", y}}},
          {"model", {{"type", "mlp"}, {"hidden_layers", 1}, {"hidden_size", 8}}},
          {"training",
           {{"epochs", epochs},
            {"batch_size", 8},
            {"loss", "sparse_categorical_crossentropy"},
            {"optimizer", {{"name", "adam"}, {"lr", 0.05}}}}}};
}

std::map<std::string, Tensor> best_weights(const fs::path& run) {
  return io::load_checkpoint((run / "checkpoints" / "best").string()).model;
}

bool equal(const Tensor& a, const Tensor& b) { return a.to_vector<float>() == b.to_vector<float>(); }

}  // namespace

TEST(InitFrom, LoadsWhatMatchesReportsTheRestAndFreezeKeepsTheTrunk) {
  const fs::path base = fresh_dir("base"), tuned = fresh_dir("tuned");
  std::ostringstream log;
  runs::train_run(mlp_config(2, 3), quiet_run(base), log);

  // Three classes: the trunk (1.*) fits, the head (3.*) has a new shape.
  io::json config = mlp_config(3, 3);
  config["model"] = {{"init_from", base.string()}};  // the base's architecture settings are inherited
  config["training"]["freeze"] = {"1"};
  runs::train_run(config, quiet_run(tuned), log);
  EXPECT_NE(log.str().find("2 weights loaded"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("3.weight (shape [2, 8] in the base, [3, 8] here)"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("frozen: 2 parameter tensors"), std::string::npos) << log.str();

  const io::json info = io::load_json((tuned / "config.json").string());
  EXPECT_EQ(info["config"]["model"]["hidden_size"], 8);  // from the base
  EXPECT_EQ(info["init_from"]["loaded"], io::json({"1.bias", "1.weight"}));
  EXPECT_EQ(info["init_from"]["new"], io::json({"3.bias", "3.weight"}));
  ASSERT_EQ(info["init_from"]["skipped"].size(), 2u);
  EXPECT_EQ(info["init_from"]["skipped"][1]["name"], "3.weight");

  // The frozen trunk is the base's, bit for bit; the head trained.
  const auto before = best_weights(base), after = best_weights(tuned);
  EXPECT_TRUE(equal(after.at("1.weight"), before.at("1.weight")));
  EXPECT_TRUE(equal(after.at("1.bias"), before.at("1.bias")));
  EXPECT_EQ(after.at("3.weight").shape(), Shape({3, 8}));
  // A fine-tuned run loads back as any run (its recorded model.init_from is not followed again).
  EXPECT_EQ(runs::load_run(tuned.string()).model.type, "mlp");
}

TEST(InitFrom, FrozenParametersGetNoGradient) {
  auto net = models::make_mlp(3, {4}, 2, 0.0);
  runs::freeze_parameters(*net, {"1.*"});
  cross_entropy(net->forward(randn({5, 3})), tensor_i64({0, 1, 0, 1, 1})).backward();
  for (const auto& [name, p] : net->named_parameters()) EXPECT_EQ(p.grad().defined(), name.starts_with("3.")) << name;
}

TEST(InitFrom, BadBasesAndPatternsAreNamedBeforeWork) {
  const fs::path dir = fresh_dir("bad");
  io::json config = mlp_config(2, 1);
  config["model"]["init_from"] = (dir / "no_such_run").string();
  std::string message = error_of([&] { runs::train_run(config, quiet_run(dir / "out"), std::cout); });
  EXPECT_NE(message.find("model.init_from"), std::string::npos) << message;
  EXPECT_NE(message.find("not a run directory"), std::string::npos) << message;

  // A base whose weights match nothing: a neuron (one Linear "0") under an MLP.
  io::json neuron = mlp_config(2, 1);
  neuron["model"] = {{"type", "neuron"}};
  neuron["training"]["loss"] = "mse";
  neuron["training"]["metrics"] = io::json::array();
  neuron["data"]["task"] = "regression";
  neuron["data"]["y"] = io::json::array();
  for (int i = 0; i < 24; ++i) neuron["data"]["y"].push_back(i % 2);
  runs::train_run(neuron, quiet_run(dir / "neuron"), std::cout);
  config["model"]["init_from"] = (dir / "neuron").string();
  message = error_of([&] { runs::train_run(config, quiet_run(dir / "out"), std::cout); });
  EXPECT_NE(message.find("none of the"), std::string::npos) << message;
  EXPECT_NE(message.find("1.weight"), std::string::npos) << message;  // what the model expected

  config = mlp_config(2, 1);
  config["training"]["freeze"] = {"encoder.*"};
  message = error_of([&] { runs::train_run(config, quiet_run(dir / "out"), std::cout); });
  EXPECT_NE(message.find("training.freeze: \"encoder.*\" matches no parameter"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir / "out"));
}
