#include "nabla/train/model.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/core/random.h"
#include "nabla/data/data_loader.h"
#include "nabla/data/split.h"
#include "nabla/dist/process_group.h"
#include "nabla/io/checkpoint.h"
#include "nabla/kernels/copy.h"
#include "nabla/ops/autocast.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/loss.h"
#include "nabla/ops/reduce.h"
#include "nabla/ops/shape_ops.h"
#include "nabla/optim/optim.h"
#include "nabla/train/fit_steps.h"
#include "nabla/train/stop_signals.h"

namespace nabla::train {

LossFn make_loss(const std::string& name) {
  if (name == "sparse_categorical_crossentropy")
    return [](const Tensor& logits, const Tensor& y) {
      // Sequence outputs [B, T, V] against [B, T] targets: classes go last, so flatten.
      if (logits.dim() > 2) return cross_entropy(logits.reshape({-1, logits.size(-1)}), y.reshape({-1}));
      return cross_entropy(logits, y);
    };
  if (name == "categorical_crossentropy")
    return [](const Tensor& logits, const Tensor& y) { return cross_entropy(logits, y.to(DType::f32)); };
  if (name == "binary_crossentropy")
    return
        [](const Tensor& p, const Tensor& y) { return binary_cross_entropy(p, y.to(DType::f32).reshape(p.shape())); };
  if (name == "binary_crossentropy_from_logits")
    return [](const Tensor& x, const Tensor& y) {
      return binary_cross_entropy_with_logits(x, y.to(DType::f32).reshape(x.shape()));
    };
  if (name == "mse" || name == "mean_squared_error")
    return [](const Tensor& p, const Tensor& y) { return mse_loss(p, y.to(DType::f32).reshape(p.shape())); };
  if (name == "mae" || name == "mean_absolute_error")
    return [](const Tensor& p, const Tensor& y) { return mean(abs(sub(p, y.to(DType::f32).reshape(p.shape())))); };
  fail("unknown loss \"", name,
       "\"; known losses: sparse_categorical_crossentropy, categorical_crossentropy, "
       "binary_crossentropy, binary_crossentropy_from_logits, mse, mae");
}

Model::Model(std::shared_ptr<nn::Module> module) : module_(std::move(module)) {
  NABLA_CHECK(module_ != nullptr, "Model: the module is null");
}

void Model::compile(std::shared_ptr<optim::Optimizer> optimizer, LossFn loss, const std::vector<std::string>& metrics,
                    const std::string& loss_name) {
  NABLA_CHECK(optimizer != nullptr, "compile: the optimizer is null");
  NABLA_CHECK(loss != nullptr, "compile: the loss is empty");
  optimizer_ = std::move(optimizer);
  loss_ = std::move(loss);
  loss_name_ = loss_name;
  metric_names_ = metrics;
  metrics_.clear();
  for (const std::string& name : metrics) metrics_.push_back(make_metric(name, loss_name));
  fused_head_ = nullptr;
}

void Model::compile(std::shared_ptr<optim::Optimizer> optimizer, const std::string& loss,
                    const std::vector<std::string>& metrics) {
  compile(std::move(optimizer), make_loss(loss), metrics, loss);
  const bool metrics_read_classes =
      std::all_of(metrics_.begin(), metrics_.end(), [](const auto& m) { return m->reads_predicted_classes(); });
  if (loss == "sparse_categorical_crossentropy" && metrics_read_classes)
    fused_head_ = dynamic_cast<nn::CrossEntropyHead*>(module_.get());
}

void Model::compile(const std::string& optimizer, const std::string& loss, const std::vector<std::string>& metrics,
                    double lr) {
  make_loss(loss);  // validate names before building anything
  compile(optim::make_optimizer(optimizer, module_->parameters(), {.lr = lr > 0 ? lr : -1}), loss, metrics);
}

void Model::distill_from(Distillation distillation) {
  NABLA_CHECK(distillation.teacher != nullptr, "distill_from: the teacher is null");
  NABLA_CHECK(distillation.temperature > 0 && std::isfinite(distillation.temperature),
              "distill_from: the temperature must be positive, got ", distillation.temperature);
  NABLA_CHECK(distillation.alpha >= 0 && distillation.alpha <= 1, "distill_from: alpha must be in [0, 1], got ",
              distillation.alpha);
  distillation.teacher->eval();
  distillation_ = std::move(distillation);
}

Tensor Model::forward_loss(const Tensor& x, const Tensor& y, Tensor* prediction) {
  if (distillation_ && module_->is_training()) {  // the student's logits are needed whole: no fused head
    Tensor student = module_->forward(x);
    if (prediction) *prediction = student;
    Tensor teacher;
    {
      NoGradGuard no_grad;
      AutocastGuard teacher_precision(distillation_->teacher_precision);
      teacher = distillation_->teacher->forward(x);
    }
    const double alpha = distillation_->alpha;
    Tensor soft = mul(distillation_loss(student, teacher, distillation_->temperature), alpha);
    return alpha == 1.0 ? soft : add(soft, mul(loss_(student, y), 1.0 - alpha));
  }
  if (fused_head_) return fused_head_->forward_cross_entropy(x, y, metrics_.empty() ? nullptr : prediction);
  Tensor p = module_->forward(x);
  if (prediction) *prediction = p;
  return loss_(p, y);
}

std::vector<std::string> Model::logged_names() const {
  std::vector<std::string> names = {"loss"};
  for (const auto& m : metrics_) names.push_back(m->name());
  return names;
}

void Model::check_compiled(const char* what) const {
  NABLA_CHECK(optimizer_ && loss_, what, ": call compile(optimizer, loss, metrics) first");
}

optim::Optimizer& Model::optimizer() {
  check_compiled("optimizer");
  return *optimizer_;
}

double Model::learning_rate() { return optimizer().param_groups().at(0).lr; }

void Model::set_learning_rate(double lr) {
  NABLA_CHECK(lr >= 0 && std::isfinite(lr), "set_learning_rate: expected a non-negative number, got ", lr);
  for (auto& group : optimizer().param_groups()) group.lr = lr;
}

namespace {

void check_pair(const Tensor& x, const Tensor& y, const char* what) {
  NABLA_CHECK(x.defined() && y.defined(), what, ": x and y must both be given");
  NABLA_CHECK(x.dim() >= 1 && y.dim() >= 1 && x.shape()[0] == y.shape()[0], what, ": x has ",
              x.dim() ? x.shape()[0] : 0, " samples (shape ", x.shape(), ") but y has ", y.dim() ? y.shape()[0] : 0,
              " (shape ", y.shape(), "); they must have the same length");
}

bool stops_on_nan(const std::vector<CallbackPtr>& callbacks) {
  for (const auto& cb : callbacks)
    if (dynamic_cast<const TerminateOnNaN*>(cb.get())) return true;
  return false;
}

// Batches one epoch trains on: all of the loader's, or steps_per_epoch when that is fewer.
int64_t steps_in_epoch(const nabla::data::DataLoader& loader, const FitOptions& options) {
  const int64_t all = loader.batches_per_epoch();
  return options.steps_per_epoch > 0 ? std::min(options.steps_per_epoch, all) : all;
}

}  // namespace

Model::StepTotals Model::logs_over_ranks(double loss_sum, int64_t seen, bool finite_here, bool stop_here) const {
  // Local sums in one vector; in a distributed run they are summed over ranks (one small
  // all-reduce) so every rank logs, and decides on, the numbers of all the data.
  std::vector<double> reduced = {finite_here ? 0.0 : 1.0, stop_here ? 1.0 : 0.0, loss_sum, double(seen)};
  for (const auto& m : metrics_)
    for (double v : m->totals()) reduced.push_back(v);
  if (distributed_) dist::all_reduce(reduced);
  StepTotals out;
  out.all_finite = reduced[0] == 0;
  out.stop = reduced[1] > 0;
  out.totals.assign(reduced.begin() + 2, reduced.end());
  out.logs["loss"] = out.totals[0] / std::max(out.totals[1], 1.0);
  if (!distributed_) {  // the totals are the metrics' own
    for (const auto& m : metrics_) out.logs[m->name()] = m->result();
    return out;
  }
  size_t at = 2;
  for (const auto& m : metrics_) {
    const std::vector<double> local = m->totals();
    m->set_totals(std::vector<double>(out.totals.begin() + long(at), out.totals.begin() + long(at + local.size())));
    out.logs[m->name()] = m->result();
    m->set_totals(local);
    at += local.size();
  }
  return out;
}

Model::EpochSums Model::start_epoch_sums() {
  for (auto& m : metrics_) m->reset();
  EpochSums sums;
  // Resuming inside the epoch: rank 0 carries the sums of all ranks' steps so far.
  if (progress_.step > 0 && dist::rank() == 0 && progress_.totals.size() >= 2) {
    sums.loss = progress_.totals[0];
    sums.seen = int64_t(progress_.totals[1]);
    size_t at = 2;
    for (auto& m : metrics_) {
      const size_t k = m->totals().size();
      NABLA_CHECK(at + k <= progress_.totals.size(), "fit: the checkpoint's epoch progress does not fit these metrics");
      m->set_totals(std::vector<double>(progress_.totals.begin() + long(at), progress_.totals.begin() + long(at + k)));
      at += k;
    }
  }
  return sums;
}

Model::StepLoss Model::forward_step(const nabla::data::Batch& batch, dist::DistributedDataParallel* ddp,
                                    EpochSums& sums) {
  const int64_t real = batch.real_size();  // 0 for a distributed stand-in batch
  if (ddp) ddp->set_sample_counts(real, batch.global_size);
  AutocastGuard autocast(precision_);
  Tensor prediction;
  StepLoss loss{forward_loss(batch.x, batch.y, &prediction), 0, true};
  loss.value = loss.tensor.item<double>();
  loss.finite_here = real == 0 || std::isfinite(loss.value);
  if (real > 0 && std::isfinite(loss.value)) {  // a skipped NaN step must not poison the epoch's mean
    sums.loss += loss.value * double(real);
    sums.seen += real;
    for (auto& m : metrics_) m->update(prediction.detach(), batch.y);
  }
  return loss;
}

std::string Model::backward_step(const StepLoss& loss, const StepPosition& at, const FitOptions& options,
                                 dist::DistributedDataParallel* ddp, const NonFiniteGuard& guard) {
  // Micro-batches: scale so accumulated gradients average like one large batch; in a distributed
  // run only the last one's backward reduces across ranks.
  const bool last_micro_batch = ends_accumulation(at.step, options.accumulation_steps, at.steps);
  {
    AutocastGuard autocast(precision_);
    std::optional<dist::DistributedDataParallel::NoSync> local_only;
    if (ddp && !last_micro_batch) local_only.emplace(*ddp);
    const Tensor& l = loss.tensor;
    (options.accumulation_steps > 1 ? mul(l, 1.0 / double(options.accumulation_steps)) : l).backward();
  }
  if (!last_micro_batch) return "";
  std::string problem;
  const std::string bad = first_nonfinite_gradient(*module_);
  if (!bad.empty()) {
    problem = guard.gradient_problem(bad, loss.value, at);
  } else {
    if (options.clip_grad_norm > 0) optim::clip_grad_norm_(module_->parameters(), options.clip_grad_norm);
    optimizer_->step();
  }
  optimizer_->zero_grad();
  return problem;
}

Logs Model::run_epoch(nabla::data::DataLoader& loader, const FitOptions& options, int epoch, ProgressBar& bar,
                      dist::DistributedDataParallel* ddp, NonFiniteGuard& guard) {
  const int64_t steps = steps_in_epoch(loader, options);
  EpochSums sums = start_epoch_sums();
  Logs logs;
  module_->train();
  optimizer_->zero_grad();
  for (int64_t step = progress_.step; step < steps; ++step) {
    const StepPosition at{epoch, step, steps};
    // The loader built this batch on its worker thread while the previous step ran.
    const nabla::data::Batch batch = *loader.next();
    Logs batch_logs;
    for (auto& cb : options.callbacks) cb->on_train_batch_begin(step, batch_logs);
    const StepLoss loss = forward_step(batch, ddp, sums);
    const StepTotals reduced = logs_over_ranks(sums.loss, sums.seen, loss.finite_here, stop_requested());
    logs = reduced.logs;
    std::string problem;
    if (reduced.all_finite) {
      problem = backward_step(loss, at, options, ddp, guard);
    } else {
      problem = guard.loss_problem(loss.value, at);
      optimizer_->zero_grad();  // drop what this accumulation cycle gathered: it is not applied
    }
    guard.after_step(problem, at);
    batch_logs = logs;
    batch_logs["batch_loss"] = reduced.all_finite ? loss.value : std::nan("");
    for (auto& cb : options.callbacks) cb->on_train_batch_end(step, batch_logs);
    bar.update(step + 1, logs);
    progress_.step = step + 1;
    progress_.totals = reduced.totals;
    // A stop signal (on any rank) ends the run at the next optimizer step's boundary.
    if (reduced.stop && (step + 1) % options.accumulation_steps == 0) {
      interrupted_ = true;
      if (step + 1 < steps) return logs;  // mid-epoch: progress_ says where
    }
    if (stop_training || interrupted_) break;
  }
  return logs;
}

History Model::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  check_compiled("fit");
  check_pair(x, y, "fit");
  FitOptions with_validation = options;
  if (options.validation_data) {
    check_pair(options.validation_data->first, options.validation_data->second, "fit (validation_data)");
    with_validation.validation_dataset =
        std::make_shared<TensorDataset>(options.validation_data->first, options.validation_data->second);
    with_validation.validation_data.reset();
  }
  return fit(std::make_shared<TensorDataset>(x, y), with_validation);
}

History Model::fit(std::shared_ptr<const Dataset> data, const FitOptions& options) {
  check_compiled("fit");
  NABLA_CHECK(data != nullptr, "fit: the dataset is null");
  NABLA_CHECK(options.epochs >= 0 && options.batch_size >= 1 && options.accumulation_steps >= 1,
              "fit: epochs must be >= 0, batch_size and accumulation_steps >= 1");
  NABLA_CHECK(options.validation_split >= 0 && options.validation_split < 1,
              "fit: validation_split must be in [0, 1), got ", options.validation_split);
  NABLA_CHECK(!(options.validation_split > 0 && (options.validation_data || options.validation_dataset)),
              "fit: give validation_split or validation data, not both");
  NABLA_CHECK(!options.validation_data, "fit(dataset): pass validation as validation_dataset");
  std::shared_ptr<const Dataset> train = data, validation = options.validation_dataset;
  if (options.validation_split > 0) {
    const int64_t n = data->size(), n_val = n - data::keras_training_count(n, options.validation_split);
    NABLA_CHECK(n_val > 0 && n_val < n, "fit: validation_split ", options.validation_split, " of ", n,
                " samples leaves an empty training or validation set");
    train = std::make_shared<Subset>(data, 0, n - n_val);
    validation = std::make_shared<Subset>(data, n - n_val, n_val);
  }
  for (auto& cb : options.callbacks) cb->set_model(this);
  stop_training = false;
  interrupted_ = false;
  NonFiniteGuard guard(options.on_nonfinite == FitOptions::NonFinite::skip, stops_on_nan(options.callbacks));
  std::optional<StopSignals> signals;
  if (options.stop_on_signals) signals.emplace();
  History history;
  Logs train_logs;
  for (auto& cb : options.callbacks) cb->on_train_begin(train_logs);
  const int64_t n = train->size();
  // Data-parallel: rank 0's weights and generator go to every rank (so all draw the same epoch
  // order and dropout stream), each rank takes its shard of every step, and the reducer averages
  // gradients during backward. Only rank 0 draws the progress bar.
  std::unique_ptr<dist::DistributedDataParallel> ddp;
  if (distributed_) {
    ddp = std::make_unique<dist::DistributedDataParallel>(module_, ddp_options_);
    synchronize_generator();
  }
  nabla::data::DataLoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.shuffle = false;  // fit draws the order itself (see below)
  loader_options.drop_last = false;
  loader_options.num_replicas = distributed_ ? dist::world_size() : 1;
  loader_options.rank = distributed_ ? dist::rank() : 0;
  loader_options.transforms = options.train_transforms;
  nabla::data::DataLoader loader(train, loader_options);
  const int verbose = dist::rank() == 0 ? options.verbose : 0;
  // A callback (BackupAndRestore) may have restored a later starting epoch.
  int first_epoch =
      std::max(options.initial_epoch, int(train_logs.count("initial_epoch") ? train_logs["initial_epoch"] : 0));
  for (int epoch = first_epoch; epoch < options.epochs && !stop_training; ++epoch) {
    Logs logs;
    for (auto& cb : options.callbacks) cb->on_epoch_begin(epoch, logs);
    if (verbose) std::printf("Epoch %d/%d\n", epoch + 1, options.epochs);
    // The order comes from the global generator, as dropout does, so a resumed run (which
    // restores that generator) repeats the same batches. Inside an interrupted epoch, the order
    // is drawn again from the generator as it was at the epoch's start.
    Tensor order;
    if (progress_.step > 0 && progress_.epoch == epoch) {
      const Generator::State now = default_generator().state();
      default_generator().set_state(progress_.order_rng);
      order = options.shuffle ? randperm(n) : arange(n);
      default_generator().set_state(now);
    } else {
      progress_ = EpochProgress{epoch, 0, default_generator().state(), {}};
      order = options.shuffle ? randperm(n) : arange(n);
    }
    loader.start_epoch(epoch, order, progress_.step);
    ProgressBar bar(steps_in_epoch(loader, options), verbose);
    logs = run_epoch(loader, options, epoch, bar, ddp.get(), guard);
    if (interrupted_ && progress_.step > 0 && progress_.step < steps_in_epoch(loader, options)) break;
    progress_ = EpochProgress{epoch + 1, 0, {}, {}};  // the epoch is whole: checkpoints need no position
    if (validation) {
      Logs val = evaluate(*validation, options.batch_size, 0);
      for (auto& [k, v] : val) logs["val_" + k] = v;
    }
    logs["lr"] = learning_rate();
    bar.finish(logs);
    for (auto& cb : options.callbacks) cb->on_epoch_end(epoch, logs);
    history.append(epoch + 1, logs);
    if (interrupted_) break;
  }
  for (auto& cb : options.callbacks) cb->on_train_end(train_logs);
  return history;
}

Logs Model::evaluate(const Tensor& x, const Tensor& y, int64_t batch_size, int verbose) {
  check_pair(x, y, "evaluate");
  return evaluate(TensorDataset(x, y), batch_size, verbose);
}

Logs Model::evaluate(const Dataset& data, int64_t batch_size, int verbose) {
  check_compiled("evaluate");
  NABLA_CHECK(batch_size >= 1, "evaluate: batch_size must be at least 1, got ", batch_size);
  NoGradGuard no_grad;
  AutocastGuard autocast(precision_);
  const bool was_training = module_->is_training();
  module_->eval();
  for (auto& m : metrics_) m->reset();
  const int64_t n = data.size();
  // Not owned: the loader (and its worker) ends before this call returns. Distributed, each rank
  // evaluates its shard and the sums are added up.
  nabla::data::DataLoader loader(std::shared_ptr<const Dataset>(std::shared_ptr<const Dataset>(), &data),
                                 {.batch_size = batch_size,
                                  .num_replicas = distributed_ ? dist::world_size() : 1,
                                  .rank = distributed_ ? dist::rank() : 0});
  double loss_sum = 0;
  int64_t seen = 0;
  for (const nabla::data::Batch& batch : loader.epoch(0)) {
    if (batch.placeholder) continue;
    Tensor prediction;
    loss_sum += forward_loss(batch.x, batch.y, &prediction).item<double>() * double(batch.size());
    seen += batch.size();
    for (auto& m : metrics_) m->update(prediction, batch.y);
  }
  module_->train(was_training);
  Logs logs = logs_over_ranks(loss_sum, seen, true, false).logs;
  if (verbose && dist::rank() == 0) {
    ProgressBar bar((n + batch_size - 1) / batch_size, verbose);
    bar.finish(logs);
  }
  return logs;
}

Tensor Model::predict(const Tensor& x, int64_t batch_size) {
  NABLA_CHECK(x.defined() && x.dim() >= 1, "predict: x must have a batch dimension");
  NABLA_CHECK(batch_size >= 1, "predict: batch_size must be at least 1, got ", batch_size);
  NoGradGuard no_grad;
  AutocastGuard autocast(precision_);
  const bool was_training = module_->is_training();
  module_->eval();
  std::vector<Tensor> outputs;
  for (int64_t start = 0; start < x.shape()[0]; start += batch_size)
    outputs.push_back(module_->forward(x.narrow(0, start, std::min(batch_size, x.shape()[0] - start))));
  module_->train(was_training);
  return outputs.size() == 1 ? outputs[0] : cat(outputs, 0);
}

double Model::train_on_batch(const Tensor& x, const Tensor& y, double clip_grad_norm) {
  check_compiled("train_on_batch");
  check_pair(x, y, "train_on_batch");
  module_->train();
  optimizer_->zero_grad();
  AutocastGuard autocast(precision_);
  Tensor loss = forward_loss(x, y, nullptr);
  const double value = loss.item<double>();
  NABLA_CHECK(std::isfinite(value), "train_on_batch: the loss became ", value,
              "; lower the learning rate, check the inputs for NaN/Inf or clip gradients");
  loss.backward();
  if (clip_grad_norm > 0) optim::clip_grad_norm_(module_->parameters(), clip_grad_norm);
  optimizer_->step();
  return value;
}

void Model::distribute(bool enabled, dist::DistributedDataParallelOptions options) {
  NABLA_CHECK(!enabled || dist::is_initialized() || dist::world_size() == 1,
              "Model::distribute: call nabla::dist::init(&argc, &argv) first");
  distributed_ = enabled && dist::world_size() > 1;
  ddp_options_ = options;
}

void Model::synchronize_generator() const {
  Generator::State state = default_generator().state();
  Tensor words = Tensor::empty({int64_t(state.size())}, DType::i64);
  std::copy(state.begin(), state.end(), reinterpret_cast<uint64_t*>(words.data<int64_t>()));
  dist::broadcast(words, 0);
  std::copy_n(reinterpret_cast<const uint64_t*>(words.data<int64_t>()), state.size(), state.begin());
  default_generator().set_state(state);
}

void Model::set_precision(DType compute_dtype) {
  NABLA_CHECK(compute_dtype == DType::f32 || compute_dtype == DType::bf16,
              "Model::set_precision: ", dtype_name(compute_dtype),
              " is not a compute precision; use DType::f32 or DType::bf16");
  precision_ = compute_dtype;
}

bool Model::writes_checkpoints() const { return !distributed_ || dist::rank() == 0; }

namespace {

std::map<std::string, Tensor> copied(std::map<std::string, Tensor> tensors, bool copy) {
  if (copy)
    for (auto& [name, t] : tensors) t = kernels::contiguous_copy(t);
  return tensors;
}

}  // namespace

io::Checkpoint Model::snapshot(int epoch) const { return checkpoint_of(epoch, /*copy=*/true); }

// A save writes the live tensors: no second copy of a large model's state in memory.
io::Checkpoint Model::checkpoint_of(int epoch, bool copy) const {
  io::Checkpoint c;
  c.model = copied(module_->state_dict(), copy);
  if (optimizer_) c.optimizer = copied(optimizer_->state_dict(), copy);
  c.config = {{"module", module_->type_name()}, {"loss", loss_name_}, {"metrics", metric_names_}};
  Generator::State rng = default_generator().state();
  c.state = {{"epoch", epoch}, {"rng", std::vector<uint64_t>(rng.begin(), rng.end())}};
  if (progress_.step > 0)
    c.state["progress"] = {{"epoch", progress_.epoch},
                           {"step", progress_.step},
                           {"order_rng", std::vector<uint64_t>(progress_.order_rng.begin(), progress_.order_rng.end())},
                           {"totals", progress_.totals}};
  return c;
}

void Model::save(const std::string& dir, int epoch) const {
  if (writes_checkpoints()) io::save_checkpoint(dir, checkpoint_of(epoch, /*copy=*/false));
}

int Model::load(const std::string& dir) {
  io::Checkpoint c = io::load_checkpoint(dir);
  module_->load_state_dict(c.model);
  if (optimizer_ && !c.optimizer.empty()) optimizer_->load_state_dict(c.optimizer);
  try {  // state.json is outside input too: a wrong type is an error naming it, not a crash
    if (c.state.contains("rng")) {
      auto words = c.state["rng"].get<std::vector<uint64_t>>();
      NABLA_CHECK(words.size() == 5, dir, ": state.json rng has ", words.size(), " words, expected 5");
      Generator::State state;
      std::copy(words.begin(), words.end(), state.begin());
      default_generator().set_state(state);
    }
    progress_ = EpochProgress{c.state.value("epoch", 0), 0, {}, {}};
    NABLA_CHECK(progress_.epoch >= 0, dir, ": state.json epoch ", progress_.epoch, " is negative");
    if (c.state.contains("progress")) {
      const nlohmann::json& p = c.state["progress"];
      auto words = p.at("order_rng").get<std::vector<uint64_t>>();
      NABLA_CHECK(words.size() == 5, dir, ": state.json progress.order_rng has ", words.size(), " words, expected 5");
      progress_.epoch = p.at("epoch").get<int>();
      progress_.step = p.at("step").get<int64_t>();
      NABLA_CHECK(progress_.step >= 0 && progress_.epoch >= 0, dir, ": state.json progress has a negative position");
      std::copy(words.begin(), words.end(), progress_.order_rng.begin());
      progress_.totals = p.at("totals").get<std::vector<double>>();
    }
    return c.state.value("epoch", 0);
  } catch (const nlohmann::json::exception& e) {
    fail(dir, "/state.json: ", e.what());
  }
}

}  // namespace nabla::train
