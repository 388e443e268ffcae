// train_run: config -> data -> model -> Model::fit with checkpoints, history, step log and schedules.
#include "nabla/runs/train_run.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "nabla/core/error.h"
#include "nabla/core/random.h"
#include "nabla/data/input_file.h"
#include "nabla/data/tokenizer.h"
#include "nabla/dist/process_group.h"
#include "nabla/io/atomic_file.h"
#include "nabla/io/checkpoint.h"
#include "nabla/io/safetensors.h"
#include "nabla/models/language_model.h"
#include "nabla/ops/autocast.h"
#include "nabla/optim/optim.h"
#include "nabla/runs/config_limits.h"
#include "nabla/runs/distill.h"
#include "nabla/runs/freeze.h"
#include "nabla/runs/init_from.h"
#include "nabla/runs/run_optimizer.h"
#include "nabla/runs/task_data.h"
#include "nabla/train/stop_signals.h"

namespace nabla::runs {

namespace fs = std::filesystem;
using io::ConfigReader;
using models::BuiltModel;
using models::DataShape;

namespace {

// One row per optimizer step: step, epoch, loss (of that batch), lr.
class StepLog : public train::Callback {
 public:
  StepLog(std::string path, bool append, int64_t first_step) : path_(std::move(path)), step_(first_step) {
    if (!append || !fs::exists(path_)) std::ofstream(path_, std::ios::trunc) << "step,epoch,loss,lr\n";
  }
  void on_epoch_begin(int epoch, train::Logs&) override { epoch_ = epoch; }
  void on_train_batch_end(int64_t, train::Logs& logs) override {
    std::ofstream out(path_, std::ios::app);
    out << ++step_ << "," << epoch_ + 1 << "," << logs["batch_loss"] << "," << model().learning_rate() << "\n";
  }

 private:
  std::string path_;
  int64_t step_;
  int epoch_ = 0;
};

// Rewrites a log CSV keeping its header and the rows `keep` accepts (atomically: a crash leaves the
// old file). Rows a run logged after its last checkpoint, before it was killed, are dropped and
// redone when it resumes; rows of finished epochs are kept as they are.
void keep_rows(const std::string& path, const std::function<bool(const std::vector<int64_t>& leading)>& keep) {
  if (!fs::exists(path)) return;
  data::check_input_file(path, "run log");
  std::ifstream in(path);
  std::string line, kept;
  for (bool header = true; std::getline(in, line); header = false) {
    if (!header && !line.empty()) {
      std::vector<int64_t> leading;  // the integer columns a row starts with (step, epoch)
      std::stringstream cells(line);
      std::string cell;
      for (int i = 0; i < 2 && std::getline(cells, cell, ','); ++i) {
        char* end = nullptr;
        const long long v = std::strtoll(cell.c_str(), &end, 10);
        if (end == cell.c_str()) break;
        leading.push_back(v);
      }
      if (!keep(leading)) continue;
    }
    kept += line + "\n";
  }
  io::write_file_atomically(path, [&](int fd) { io::write_all(fd, kept.data(), kept.size(), path); });
}

// history.csv: the epochs checkpoints/last had finished.
void keep_finished_epochs(const std::string& path, int64_t done_epochs) {
  keep_rows(path, [&](const std::vector<int64_t>& row) { return !row.empty() && row[0] <= done_epochs; });
}

// steps.csv (step, epoch, ...): the steps of finished epochs, and the first `steps_into` steps of the
// epoch after them; returns the number of the last step kept, where the log continues. By epoch,
// not by step count: a resumed run may change steps_per_epoch, and finished epochs keep their rows.
int64_t keep_finished_steps(const std::string& path, int64_t done_epochs, int64_t steps_into) {
  int64_t last_step = 0, into = 0;
  keep_rows(path, [&](const std::vector<int64_t>& row) {
    if (row.size() < 2) return false;
    const bool keep = row[1] <= done_epochs || (row[1] == done_epochs + 1 && into++ < steps_into);
    if (keep) last_step = std::max(last_step, row[0]);
    return keep;
  });
  return last_step;
}

// Linear warmup then cosine decay, stepped once per optimizer step (GPT's schedule).
class CosineSchedule : public train::Callback {
 public:
  CosineSchedule(optim::Optimizer& optimizer, int64_t warmup, int64_t total, double min_lr, int64_t done,
                 int64_t accumulation)
      : scheduler_(optimizer, warmup, total, min_lr), accumulation_(accumulation) {
    for (int64_t i = 0; i < done; ++i) scheduler_.step();  // resuming: catch up to the saved step
  }
  void on_train_batch_end(int64_t batch, train::Logs&) override {
    if ((batch + 1) % accumulation_ == 0) scheduler_.step();
  }

 private:
  optim::CosineWithWarmup scheduler_;
  int64_t accumulation_;
};

// done_epochs whole epochs and done_in_epoch batches of the next one are already trained.
std::vector<train::CallbackPtr> schedule_callbacks(ConfigReader s, train::Model& model, int64_t steps_per_epoch,
                                                   int epochs, int done_epochs, int64_t done_in_epoch,
                                                   int64_t accumulation) {
  const std::string type = s.string("type", "none", {"none", "cosine", "step", "exponential", "plateau"});
  std::vector<train::CallbackPtr> result;
  if (type == "cosine") {
    const int64_t optimizer_steps = std::max<int64_t>(1, steps_per_epoch / accumulation);
    const int64_t total = optimizer_steps * epochs;
    const int64_t warmup = s.integer("warmup_steps", std::min<int64_t>(100, total / 10), 0, total);
    result.push_back(std::make_shared<CosineSchedule>(model.optimizer(), warmup, total, s.number("min_lr", 0.0, 0),
                                                      optimizer_steps * done_epochs + done_in_epoch / accumulation,
                                                      accumulation));
  } else if (type == "step" || type == "exponential") {
    const double gamma = s.number("gamma", type == "step" ? 0.1 : 0.95, 0, 1, true);
    const int64_t step_size = type == "step" ? s.integer("step_size", 10, 1, kMaxSteps) : 1;
    const double base = model.learning_rate();
    result.push_back(std::make_shared<train::LearningRateScheduler>(
        [=](int epoch, double) { return base * std::pow(gamma, double(epoch / step_size)); }));
  } else if (type == "plateau") {
    result.push_back(std::make_shared<train::ReduceLROnPlateau>("val_loss", s.number("factor", 0.1, 0, 1, true),
                                                                int(s.integer("patience", 2, 0, kMaxEpochs))));
  }
  s.finish();
  return result;
}

// --resume needs checkpoints/last whole; when it is not, say what failed and what is left.
void check_resumable(const std::string& dir) {
  const std::string damage = io::checkpoint_damage(dir + "/checkpoints/last");
  if (damage.empty()) return;
  const bool best = io::checkpoint_damage(dir + "/checkpoints/best").empty();
  fail("--resume ", dir, ": checkpoints/last cannot be resumed (", damage, "); nothing was changed. ",
       best ? "checkpoints/best is intact: `nabla eval`, `predict` and `generate` use it, and a new run can start "
              "from the same config with `nabla train CONFIG --out ANOTHER_DIR`"
            : "checkpoints/best is not usable either; start a new run with `nabla train CONFIG --out ANOTHER_DIR`");
}

// What the config and data can tell about a run before it starts, so none of it fails an epoch in
// (or leaves an empty run directory behind).
void check_before_work(const TaskData& data, const BuiltModel& built, const train::Model& model,
                       const std::string& monitor, const std::string& monitor_key) {
  // A language model's windows must fit its context.
  if (auto* lm = dynamic_cast<const models::LanguageModel*>(built.module.get());
      lm && lm->context_length() > 0 && data.shape.input.size() == 1)
    NABLA_CHECK(data.shape.input[0] <= lm->context_length(), "data.seq_len (", data.shape.input[0],
                ") is longer than model.context (", lm->context_length(),
                "): the model cannot see that many tokens; lower data.seq_len or raise model.context");
  // checkpoints/best follows a value the run logs every epoch.
  std::vector<std::string> logged = model.logged_names(), allowed = logged;
  if (data.validation)
    for (const std::string& name : logged) allowed.push_back("val_" + name);
  if (std::find(allowed.begin(), allowed.end(), monitor) == allowed.end()) {
    std::string names;
    for (const std::string& n : allowed) names += (names.empty() ? "" : ", ") + n;
    const bool needs_validation = monitor.rfind("val_", 0) == 0 && !data.validation;
    fail(monitor_key, ": \"", monitor, "\" is not logged by this run",
         needs_validation ? " (it has no validation set; set data.validation_split)" : "", "; choose one of ", names);
  }
}

io::json shape_json(const DataShape& s) {
  return {{"input", std::vector<int64_t>(s.input.begin(), s.input.end())},
          {"input_dtype", std::string(dtype_name(s.input_dtype))},
          {"classes", s.classes},
          {"vocab_size", s.vocab_size}};
}

}  // namespace

TrainRunResult train_run(const io::json& given, const TrainRunOptions& options, std::ostream& rank_log) {
  NABLA_CHECK(!options.out_dir.empty(), "train: no run directory given (--out)");
  // Data-parallel under mpirun: every rank trains its shard; rank 0 alone prints and writes files.
  const int world = dist::world_size();
  const bool writer = dist::rank() == 0;
  std::ostream null_log(nullptr);
  std::ostream& log = writer ? rank_log : null_log;
  io::json config = given;
  std::shared_ptr<const data::Tokenizer> tokenizer;
  const std::string info_path = options.out_dir + "/config.json", last = options.out_dir + "/checkpoints/last";
  std::shared_ptr<RunDirectory> directory;  // claimed by rank 0, the one process that writes
  if (options.resume) {
    if (writer) directory = std::make_shared<RunDirectory>(options.out_dir, RunDirectory::Purpose::resume);
    NABLA_CHECK(fs::exists(info_path), "--resume ", options.out_dir,
                ": not a run directory (no config.json); start a run with `nabla train CONFIG --out DIR`");
    check_resumable(options.out_dir);
    const io::json info = io::load_json(info_path);
    NABLA_CHECK(info.is_object() && info.contains("config") && info["config"].is_object(), info_path,
                ": not a run's config.json (no \"config\" object); was it written by `nabla train`?");
    config = info["config"];
    for (const std::string& assignment : options.resume_overrides) io::apply_override(config, assignment);
    if (info.contains("tokenizer") && !info["tokenizer"].is_null()) tokenizer = data::make_tokenizer(info["tokenizer"]);
  } else if (writer) {
    check_new_run(options.out_dir, options.overwrite);  // now, before the data loads
  }

  BaseRun base;  // model.init_from: the base run's model settings and tokenizer (a resumed run has its own)
  if (!options.resume) {
    base = inherit_from_base_run(config);
    if (base.tokenizer) tokenizer = base.tokenizer;
  }
  // training.distill: the teacher, before the data, whose tokenizer a new student uses.
  const std::unique_ptr<LoadedRun> teacher = load_teacher(config);
  if (teacher && !tokenizer) tokenizer = teacher->tokenizer;
  dist::check_same_on_all_ranks(io::config_lines(config) + "run directory = " + options.out_dir, "the config");
  ConfigReader root(config);
  root.string("name", "run");
  root.string("description", "");
  const uint64_t seed = uint64_t(root.integer("seed", 42, 0, INT64_MAX));
  manual_seed(seed);
  ConfigReader data_cfg = root.object("data");
  TaskData data = load_task_data(data_cfg, seed, tokenizer);
  ConfigReader model_cfg = root.object("model");
  BuiltModel built = models::build_model(model_cfg, data.shape);
  if (!options.resume && !built.initial_weights.empty()) {  // a resumed run has its own weights
    try {
      built.module->load_state_dict(io::load_safetensors(built.initial_weights).tensors);
    } catch (const Error& e) {
      throw Error("model.initial_weights \"" + built.initial_weights + "\": " + e.what());
    }
  }
  std::optional<InitReport> started_from;
  if (!options.resume && !built.init_from.empty()) started_from = init_from_run(*built.module, built.init_from);

  ConfigReader t = root.object("training");
  train::FitOptions fit;
  fit.epochs = int(t.integer("epochs", 10, 1, kMaxEpochs));
  fit.batch_size = t.integer("batch_size", 32, 1, kMaxBatch);
  fit.clip_grad_norm = t.number("clip_grad_norm", 0.0, 0);
  fit.on_nonfinite = t.string("on_nonfinite", "stop", {"stop", "skip"}) == "skip" ? train::FitOptions::NonFinite::skip
                                                                                  : train::FitOptions::NonFinite::stop;
  fit.accumulation_steps = t.integer("accumulation_steps", 1, 1, kMaxSteps);
  fit.steps_per_epoch = t.integer("steps_per_epoch", 0, 0, kMaxSteps);
  fit.verbose = options.verbose;
  fit.shuffle = t.boolean("shuffle", true);
  fit.validation_dataset = data.validation;
  fit.train_transforms = data.train_transforms;
  const std::string loss = t.string("loss", loss_for(built.task));
  const std::vector<std::string> metrics = t.strings("metrics", metrics_for(built.task));
  // Keras' EarlyStopping: stop when `monitor` has not improved by min_delta for `patience` epochs.
  std::optional<std::string> stop_monitor;
  std::shared_ptr<train::EarlyStopping> early_stopping;
  bool restore_best = false;
  if (t.has("early_stopping")) {
    ConfigReader e = t.object("early_stopping");
    stop_monitor = e.string("monitor", data.validation ? "val_loss" : "loss");
    restore_best = e.boolean("restore_best_weights", false);
    early_stopping = std::make_shared<train::EarlyStopping>(
        *stop_monitor, e.number("min_delta", 0.0, 0), int(e.integer("patience", 0, 0, kMaxEpochs)),
        e.string("mode", "auto", {"auto", "min", "max"}), restore_best);
    e.finish();
  }
  // checkpoints/best keeps the epoch with the best value of this (val_* needs a validation set);
  // test metrics, predictions and `nabla predict` use it. Restoring the best weights means the
  // early-stopping monitor's best, so that is the default then, and another is a contradiction.
  const bool monitor_given = t.has("checkpoint_monitor");
  const std::string monitor = t.string("checkpoint_monitor", restore_best      ? *stop_monitor
                                                             : data.validation ? "val_loss"
                                                                               : "loss");
  NABLA_CHECK(!restore_best || !monitor_given || monitor == *stop_monitor,
              "training.early_stopping.restore_best_weights: the best weights are those of training.checkpoint_monitor "
              "(\"",
              monitor, "\"), but early stopping watches \"", *stop_monitor,
              "\"; watch the same value in both, or leave out checkpoint_monitor");
  // Epochs shorter than this share one save (the latest; always the final one): a kill -9 loses
  // at most this much training, and a thousand tiny epochs do not wait on a thousand synced saves.
  const double checkpoint_interval = t.number("checkpoint_interval_seconds", 5.0, 0, 86400);
  const std::vector<std::string> frozen =
      freeze_parameters(*built.module, t.strings("freeze", std::vector<std::string>{}));
  train::Model model(built.module);
  model.compile(build_optimizer(t.object("optimizer"), built), loss, metrics);
  model.set_precision(parse_precision(t.string("precision", "fp32", {"fp32", "bf16"})));
  if (teacher) model.distill_from(read_distillation(t.object("distill"), *teacher, data, built));
  model.distribute(world > 1);
  if (!data.tokenizer)
    root.object("generate").finish();
  else {  // defaults for `nabla generate`, recorded with the run
    ConfigReader g = root.object("generate");
    g.string("prompt", data.prompt);
    g.integer("tokens", 400, 1, kMaxTokens);
    g.number("temperature", 0.8, 0);
    g.integer("top_k", 0, 0, kMaxTokens);
    g.number("top_p", 0.95, 0, 1, true);
    g.finish();
  }

  const int64_t step_samples = fit.batch_size * world;  // each step: batch_size on every rank
  const int64_t all_batches = (data.train->size() + step_samples - 1) / step_samples;
  const int64_t batches = fit.steps_per_epoch > 0 ? std::min(fit.steps_per_epoch, all_batches) : all_batches;
  int done_epochs = 0;
  if (options.resume) {
    // The saved optimizer state holds the schedule's lr at the save; the schedule below must start
    // from the configured lr (its base) and catch up, or a resumed run would scale lr down.
    std::vector<double> configured;
    for (const auto& group : model.optimizer().param_groups()) configured.push_back(group.lr);
    done_epochs = model.load(last);
    for (size_t g = 0; g < configured.size(); ++g) model.optimizer().param_groups()[g].lr = configured[g];
  }
  fit.callbacks = schedule_callbacks(t.object("schedule"), model, batches, fit.epochs, done_epochs,
                                     model.progress().step, fit.accumulation_steps);
  fit.stop_on_signals = options.stop_on_signals;
  t.finish();
  root.finish();  // every key is known
  NABLA_CHECK(done_epochs < fit.epochs, "--resume ", options.out_dir, ": all ", fit.epochs,
              " epochs are done already; raise training.epochs with --set training.epochs=N");
  check_before_work(data, built, model, monitor, "training.checkpoint_monitor");
  if (stop_monitor) check_before_work(data, built, model, *stop_monitor, "training.early_stopping.monitor");
  fit.initial_epoch = done_epochs;

  // Only now, with everything known to work, is the run directory touched.
  int64_t logged_steps = 0;
  if (writer && !options.resume)
    directory = std::make_shared<RunDirectory>(options.out_dir, RunDirectory::Purpose::new_run, options.overwrite);
  if (writer && !directory->replaced_run().empty())
    log << "moved the run that was in " << options.out_dir << " to " << directory->replaced_run() << "\n";
  if (options.resume && writer) {
    keep_finished_epochs(options.out_dir + "/history.csv", done_epochs);
    const std::string steps = options.out_dir + "/steps.csv";
    logged_steps = fs::exists(steps) ? keep_finished_steps(steps, done_epochs, model.progress().step)
                                     : int64_t(done_epochs) * batches + model.progress().step;
  }

  io::json info = {{"config", root.resolved()},
                   {"tokenizer", data.tokenizer ? data.tokenizer->to_json() : io::json()},
                   {"data_shape", shape_json(data.shape)},
                   {"model_type", built.type},
                   {"task", loss_for(built.task)},
                   {"class_names", data.class_names}};
  if (data.input_mean) info["normalization"] = {{"mean", *data.input_mean}, {"std", *data.input_std}};
  if (started_from) info["init_from"] = started_from->to_json();
  if (writer) io::save_json(info_path, info);

  const bool has_validation = data.validation != nullptr;
  fit.callbacks.push_back(std::make_shared<train::CSVLogger>(options.out_dir + "/history.csv", options.resume));
  if (writer)
    fit.callbacks.push_back(std::make_shared<StepLog>(options.out_dir + "/steps.csv", options.resume, logged_steps));
  fit.callbacks.push_back(std::make_shared<train::ModelCheckpoint>(options.out_dir + "/checkpoints/best", monitor, true,
                                                                   "auto", checkpoint_interval));
  fit.callbacks.push_back(std::make_shared<train::ModelCheckpoint>(last, "loss", false, "auto", checkpoint_interval));
  if (early_stopping) fit.callbacks.push_back(early_stopping);
  if (model.precision() == DType::bf16 && !bf16_native())
    log << "warning: this CPU has no native bf16 matrix instructions (AVX512_BF16 or AMX), so bf16 is emulated: "
           "the numerics of bf16 mixed precision, but no speed-up over fp32 (use --precision fp32 for speed)\n";
  log << built.module->summary() << "\n";
  if (started_from) log << started_from->describe() << "\n";
  if (teacher)
    log << "distilling from " << teacher->checkpoint << " (temperature "
        << config["training"]["distill"].value("temperature", 2.0) << ", alpha "
        << config["training"]["distill"].value("alpha", 0.5) << ")\n";
  if (!frozen.empty())
    log << "frozen: " << frozen.size() << " parameter tensors (" << built.module->parameter_count(true) << " of "
        << built.module->parameter_count() << " parameters train)\n";
  log << "training " << built.type << " on " << data.train->size() << " examples"
      << (has_validation ? ", validating on " + std::to_string(data.validation->size()) : std::string()) << ", "
      << fit.epochs - done_epochs << " epoch(s)"
      << (world > 1 ? ", on " + std::to_string(world) + " ranks x " + std::to_string(fit.batch_size) + " = " +
                          std::to_string(step_samples) + " samples per step"
                    : std::string())
      << "\n";

  TrainRunResult result;
  result.run_dir = options.out_dir;
  result.directory = directory;
  result.test_set = data.test;
  result.history = model.fit(data.train, fit);
  if (model.interrupted()) {  // a signal: keep the position (mid-epoch) and stop here
    if (model.progress().step > 0) model.save(last, model.progress().epoch);
    result.stop_signal = train::stop_signal();
    result.stopped_at = model.progress();
    dist::barrier();
    return result;
  }
  dist::barrier();  // rank 0 has written the checkpoints the others load next
  if (data.test) {
    model.load(options.out_dir + "/checkpoints/best");
    result.test = model.evaluate(*data.test, std::max<int64_t>(fit.batch_size, 256));
    io::json test = io::json::object();
    for (auto& [k, v] : result.test) test[k] = v;
    io::json results = {{"test", test}, {"checkpoint", "best"}};
    if (started_from) results["init_from"] = started_from->to_json();
    if (writer) io::save_json(options.out_dir + "/results.json", results);
  }
  if (data.predict_inputs.defined()) {  // the inputs the config asks about, through the best weights
    if (!data.test) model.load(options.out_dir + "/checkpoints/best");
    result.predict_inputs = data.predict_inputs;
    result.predictions = model.predict(data.predict_inputs);
  }
  return result;
}

}  // namespace nabla::runs
