// load_run: a run directory back into a compiled model with its tokenizer.
#include "nabla/runs/loaded_run.h"

#include <cstdio>
#include <filesystem>

#include "nabla/core/error.h"
#include "nabla/io/checkpoint.h"

namespace nabla::runs {

namespace fs = std::filesystem;
using models::BuiltModel;
using models::DataShape;
using models::Task;

namespace {

DataShape shape_from_json(const io::json& j) {
  DataShape s;
  std::vector<int64_t> input = j.at("input").get<std::vector<int64_t>>();
  s.input = Shape(input);
  s.input_dtype = j.at("input_dtype").get<std::string>() == "i64" ? DType::i64 : DType::f32;
  s.classes = j.at("classes").get<int64_t>();
  s.vocab_size = j.at("vocab_size").get<int64_t>();
  return s;
}

Task task_from_loss(const std::string& loss) {
  if (loss == "binary_crossentropy") return Task::binary;
  if (loss == "mse") return Task::regression;
  return Task::classification;
}

}  // namespace

std::string usable_checkpoint(const std::string& run_dir) {
  std::string damage;  // why a checkpoint that is there could not be used
  for (const char* which : {"best", "last"}) {
    const std::string dir = run_dir + "/checkpoints/" + which;
    if (!fs::exists(dir) && !fs::exists(dir + ".tmp") && !fs::exists(dir + ".old")) continue;
    if (const std::string why = io::checkpoint_damage(dir); !why.empty()) {
      damage += std::string(damage.empty() ? "" : "; ") + "checkpoints/" + which + " is damaged (" + why + ")";
      continue;
    }
    if (!damage.empty())
      std::fprintf(stderr, "warning: %s: %s; using %s\n", run_dir.c_str(), damage.c_str(), dir.c_str());
    return dir;
  }
  NABLA_CHECK(damage.empty(), run_dir, ": no usable checkpoint: ", damage);
  fail(run_dir, ": no checkpoint in checkpoints/best or checkpoints/last; the run has not finished an epoch yet");
}

LoadedRun load_run(const std::string& run_dir) {
  const std::string info_path = run_dir + "/config.json";
  NABLA_CHECK(fs::exists(info_path), run_dir,
              ": not a run directory (no config.json); train one with "
              "`nabla train CONFIG.json --out ",
              run_dir, "`");
  LoadedRun run;
  run.info = io::load_json(info_path);
  try {
    io::json config = run.info.at("config");
    if (!run.info.at("tokenizer").is_null()) run.tokenizer = data::make_tokenizer(run.info["tokenizer"]);
    run.class_names = run.info.value("class_names", std::vector<std::string>{});
    const DataShape shape = shape_from_json(run.info.at("data_shape"));
    io::ConfigReader model_cfg(config.at("model"), "model");
    run.model = models::build_model(model_cfg, shape);
    if (run.model.task != Task::language_model && run.model.task != Task::masked_lm)
      run.model.task = task_from_loss(run.info.at("task"));
    const io::json& training = config.at("training");
    run.trainer = std::make_unique<train::Model>(run.model.module);
    run.trainer->compile("adam", training.at("loss").get<std::string>(),
                         training.at("metrics").get<std::vector<std::string>>());
  } catch (const io::json::exception& e) {
    fail(info_path, ": malformed run config (", e.what(), "); was it written by `nabla train`?");
  }
  run.checkpoint = usable_checkpoint(run_dir);
  io::Checkpoint c = io::load_checkpoint(run.checkpoint);
  try {
    run.model.module->load_state_dict(c.model);
  } catch (const Error& e) {
    fail(run.checkpoint, ": the weights do not fit the model in ", info_path,
         " (a checkpoint from a different model?): ", e.what());
  }
  run.model.module->eval();
  return run;
}

TaskData load_run_data(const LoadedRun& run) {
  io::json config = run.info.at("config");
  io::ConfigReader data_cfg(config.at("data"), "data");
  TaskData data = load_task_data(data_cfg, config.at("seed").get<uint64_t>(), run.tokenizer);
  return data;
}

BuiltModel build_for_summary(const std::string& config_or_run, TaskData* data_out) {
  if (fs::is_directory(config_or_run)) return std::move(load_run(config_or_run).model);
  io::json config = io::read_json_file(config_or_run);
  io::ConfigReader root(config);
  io::ConfigReader data_cfg = root.object("data");
  TaskData data = load_task_data(data_cfg, uint64_t(root.integer("seed", 42, 0, INT64_MAX)));
  io::ConfigReader model_cfg = root.object("model");
  BuiltModel built = models::build_model(model_cfg, data.shape);
  if (data_out) *data_out = std::move(data);
  return built;
}

}  // namespace nabla::runs
