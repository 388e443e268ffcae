// Every config in configs/ trains for a few steps on its real data (fewer examples, the same
// model, optimizer and loss) and its loss falls: the first steps' mean loss against the last
// steps'. A config added without an entry here fails the test that lists them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "nabla/nabla.h"

using namespace nabla;
namespace fs = std::filesystem;

namespace {

struct Shortening {
  std::string config;
  std::vector<std::string> overrides;  // --set style, applied to the config as written
};
void PrintTo(const Shortening& s, std::ostream* out) { *out << s.config; }

// Few examples and steps, everything else as the config says.
const std::vector<Shortening>& shortenings() {
  static const std::vector<Shortening> table = {
      {"neuron", {"training.epochs=200"}},
      {"mlp", {"data.limit=3000", "training.epochs=1", "training.steps_per_epoch=40"}},
      {"fashion_cnn", {"data.limit=3000", "training.epochs=1", "training.steps_per_epoch=30"}},
      {"lenet", {"data.limit=20000", "training.epochs=1", "training.steps_per_epoch=250"}},
      {"rnn_classifier",
       {"data.limit=3000", "training.epochs=1", "training.steps_per_epoch=40", "training.optimizer.lr=0.01"}},
      {"lstm_text", {"data.limit=3000", "training.epochs=1", "training.steps_per_epoch=80"}},
      {"attention_text",
       {"data.limit=3000", "training.epochs=1", "training.steps_per_epoch=40", "training.schedule.warmup_steps=5"}},
      {"keras_attention", {"data.limit=3000", "training.epochs=1", "training.steps_per_epoch=40"}},
      {"gru_lm", {"data.limit=1500", "training.epochs=1", "training.steps_per_epoch=12", "training.batch_size=16"}},
      {"char_rnn", {"data.limit=1000", "training.epochs=1", "training.steps_per_epoch=30", "training.batch_size=16"}},
      {"gpt",
       {"data.limit=1000", "training.epochs=1", "training.steps_per_epoch=30", "training.batch_size=8",
        "training.schedule.warmup_steps=5"}},
      {"gpt_demo",
       {"data.limit=1000", "training.epochs=1", "training.steps_per_epoch=30", "training.batch_size=8",
        "training.schedule.warmup_steps=5"}},
      {"gpt_medium",
       {"data.limit=1000", "training.epochs=1", "training.steps_per_epoch=20", "training.batch_size=4",
        "training.schedule.warmup_steps=5"}},
      {"gpt_bpe",
       {"data.limit=2000", "training.epochs=1", "training.steps_per_epoch=30", "training.batch_size=8",
        "data.tokenizer.vocab_size=500", "training.schedule.warmup_steps=5"}},
      {"bert_mlm",
       {"data.limit=2000", "data.seq_len=32", "training.epochs=1", "training.steps_per_epoch=40",
        "training.batch_size=16", "data.tokenizer.vocab_size=500", "training.schedule.warmup_steps=5"}},
      // 124M parameters at full width (50257 rows), on short sequences so a step takes a second.
      {"gpt2_124m",
       {"data.limit=300", "data.seq_len=64", "training.epochs=1", "training.steps_per_epoch=8", "training.batch_size=2",
        "data.tokenizer.vocab_size=500", "training.schedule.warmup_steps=2"}},
  };
  return table;
}

std::vector<std::string> config_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(std::string(NABLA_SOURCE_DIR) + "/configs"))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Mean of the loss column of steps.csv over the first and the last `n` steps.
std::pair<double, double> first_and_last_losses(const std::string& steps_csv, size_t n) {
  std::ifstream in(steps_csv);
  std::string line;
  std::getline(in, line);  // step,epoch,loss,lr
  std::vector<double> losses;
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::string cell;
    for (int i = 0; i < 3; ++i) std::getline(cells, cell, ',');
    losses.push_back(std::stod(cell));
  }
  n = std::min(n, losses.size() / 2);
  double first = 0, last = 0;
  for (size_t i = 0; i < n; ++i) {
    first += losses[i] / double(n);
    last += losses[losses.size() - 1 - i] / double(n);
  }
  return {first, last};
}

class ConfigLearns : public ::testing::TestWithParam<Shortening> {};

TEST_P(ConfigLearns, LossFallsOnItsRealData) {
  const Shortening& s = GetParam();
  io::json config = io::read_json_file(std::string(NABLA_SOURCE_DIR) + "/configs/" + s.config + ".json");
  for (const std::string& o : s.overrides) io::apply_override(config, o);
  const fs::path dir = fs::temp_directory_path() / ("nabla_configs_" + std::to_string(getpid())) / s.config;
  fs::remove_all(dir);
  runs::TrainRunOptions options;
  options.out_dir = dir.string();
  options.verbose = 0;
  std::ostringstream log;
  runs::TrainRunResult result = runs::train_run(config, options, log);
  const auto [first, last] = first_and_last_losses((dir / "steps.csv").string(), 5);
  EXPECT_LT(last, 0.9 * first) << s.config << ": the loss did not fall (first steps " << first << ", last " << last
                               << ")\n"
                               << log.str();
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Configs, ConfigLearns, ::testing::ValuesIn(shortenings()),
                         [](const ::testing::TestParamInfo<Shortening>& info) { return info.param.config; });

}  // namespace

TEST(Configs, EveryConfigIsTrainedByThisTest) {
  std::vector<std::string> listed;
  for (const Shortening& s : shortenings()) listed.push_back(s.config);
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(config_names(), listed) << "add the new config to configs_learn_test.cpp's table";
}
