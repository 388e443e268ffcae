#include "nabla/train/callbacks.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/error.h"
#include "nabla/core/views.h"
#include "nabla/dist/process_group.h"
#include "nabla/io/checkpoint.h"
#include "nabla/kernels/copy.h"
#include "nabla/train/model.h"

namespace nabla::train {

Model& Callback::model() const {
  NABLA_CHECK(model_ != nullptr, "callback used outside Model::fit (no model attached)");
  return *model_;
}

std::string resolve_mode(const std::string& mode, const std::string& monitor) {
  if (mode == "auto") return monitor.find("acc") != std::string::npos ? "max" : "min";
  NABLA_CHECK(mode == "min" || mode == "max", "callback mode must be \"min\", \"max\" or \"auto\", got \"", mode, "\"");
  return mode;
}

bool improved(const std::string& mode, const std::string& monitor, double current, double best, double min_delta) {
  if (std::isnan(best)) return !std::isnan(current);
  return resolve_mode(mode, monitor) == "min" ? current < best - min_delta : current > best + min_delta;
}

namespace {
double monitored(const Logs& logs, const std::string& monitor, const char* who) {
  auto it = logs.find(monitor);
  if (it != logs.end()) return it->second;
  std::ostringstream keys;
  for (const auto& [k, v] : logs) keys << " " << k;
  fail(who, ": monitored value \"", monitor, "\" is not in the logs; available:", keys.str(),
       monitor.rfind("val_", 0) == 0 ? " (val_ values need validation_data or validation_split)" : "");
}
}  // namespace

EarlyStopping::EarlyStopping(std::string monitor, double min_delta, int patience, std::string mode, bool restore)
    : monitor_(std::move(monitor)),
      mode_(std::move(mode)),
      min_delta_(std::fabs(min_delta)),
      patience_(patience),
      restore_best_weights_(restore),
      best_(std::nan("")) {
  NABLA_CHECK(patience >= 0, "EarlyStopping: patience must be >= 0, got ", patience);
}

void EarlyStopping::on_train_begin(Logs&) {
  wait_ = 0;
  stopped_epoch = 0;
  best_ = std::nan("");
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(int epoch, Logs& logs) {
  const double current = monitored(logs, monitor_, "EarlyStopping");
  if (improved(mode_, monitor_, current, best_, min_delta_)) {
    best_ = current;
    wait_ = 0;
    if (restore_best_weights_) {
      best_weights_.clear();
      for (auto& [name, t] : model().module().state_dict()) best_weights_[name] = kernels::contiguous_copy(t);
    }
    return;
  }
  if (++wait_ >= patience_ && epoch > 0) {  // Keras: stop once `patience` epochs passed without improvement
    stopped_epoch = epoch + 1;
    model().stop_training = true;
  }
}

// Keras 3: the best epoch's weights come back whether or not training stopped early.
void EarlyStopping::on_train_end(Logs&) {
  if (restore_best_weights_ && !best_weights_.empty()) model().module().load_state_dict(best_weights_);
}

ModelCheckpoint::ModelCheckpoint(std::string filepath, std::string monitor, bool save_best_only, std::string mode,
                                 double min_interval_seconds)
    : filepath_(std::move(filepath)),
      monitor_(std::move(monitor)),
      mode_(std::move(mode)),
      save_best_only_(save_best_only),
      min_interval_seconds_(min_interval_seconds) {
  NABLA_CHECK(std::isfinite(min_interval_seconds) && min_interval_seconds >= 0,
              "ModelCheckpoint: min_interval_seconds must be a non-negative number, got ", min_interval_seconds);
}

std::string ModelCheckpoint::format_path(int epoch, const Logs& logs) const {
  // {epoch}, {epoch:02d}, {val_loss:.4f}: the Python format subset Keras' templates use.
  static const std::regex field(R"(\{([A-Za-z_]+)(?::([0-9]*)\.?([0-9]*)([df]))?\})");
  std::string out;
  auto begin = std::sregex_iterator(filepath_.begin(), filepath_.end(), field);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    out += filepath_.substr(last, size_t(m.position()) - last);
    const std::string key = m[1];
    const double value = key == "epoch" ? double(epoch + 1) : monitored(logs, key, "ModelCheckpoint");
    char buffer[64];
    const std::string width = m[2], precision = m[3], kind = m[4];
    if (kind == "f")
      std::snprintf(buffer, sizeof buffer, ("%" + width + "." + (precision.empty() ? "6" : precision) + "f").c_str(),
                    value);
    else if (kind == "d" || key == "epoch")
      std::snprintf(buffer, sizeof buffer, ("%" + width + "lld").c_str(), (long long)std::llround(value));
    else
      std::snprintf(buffer, sizeof buffer, "%g", value);
    out += buffer;
    last = size_t(m.position() + m.length());
  }
  return out + filepath_.substr(last);
}

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  bool save = true;
  if (save_best_only_) {
    const double current = monitored(logs, monitor_, "ModelCheckpoint");
    save = improved(mode_, monitor_, current, best_, 0);
    if (save) best_ = current;
  }
  if (!model().writes_checkpoints()) return;
  const auto now = std::chrono::steady_clock::now();
  const bool due = !last_write_ || std::chrono::duration<double>(now - *last_write_).count() >= min_interval_seconds_;
  if (save && due) {
    model().save(format_path(epoch, logs), epoch + 1);
    last_write_ = now;
    pending_.reset();
  } else if (save) {
    pending_.emplace(format_path(epoch, logs), model().snapshot(epoch + 1));
  } else if (due) {
    write_pending();
  }
}

void ModelCheckpoint::on_train_end(Logs&) { write_pending(); }

void ModelCheckpoint::write_pending() {
  if (!pending_) return;
  io::save_checkpoint(pending_->first, pending_->second);
  pending_.reset();
  last_write_ = std::chrono::steady_clock::now();
}

void LearningRateScheduler::on_epoch_begin(int epoch, Logs& logs) {
  const double lr = schedule_(epoch, model().learning_rate());
  NABLA_CHECK(std::isfinite(lr) && lr >= 0, "LearningRateScheduler: the schedule returned ", lr, " for epoch ", epoch,
              "; expected a non-negative number");
  model().set_learning_rate(lr);
  logs["lr"] = lr;
}

ReduceLROnPlateau::ReduceLROnPlateau(std::string monitor, double factor, int patience, std::string mode,
                                     double min_delta, int cooldown, double min_lr)
    : monitor_(std::move(monitor)) {
  NABLA_CHECK(factor > 0 && factor < 1, "ReduceLROnPlateau: factor must be in (0, 1), got ", factor);
  NABLA_CHECK(patience >= 0 && cooldown >= 0, "ReduceLROnPlateau: patience and cooldown must be >= 0, got ", patience,
              " and ", cooldown);
  using O = optim::ReduceLROnPlateauOptions;
  options_.mode = resolve_mode(mode, monitor_) == "max" ? O::Mode::max : O::Mode::min;
  options_.factor = factor;
  options_.patience = std::max(patience - 1, 0);
  options_.threshold = std::fabs(min_delta);
  options_.threshold_mode = O::ThresholdMode::abs;  // Keras compares with best -/+ min_delta
  options_.cooldown = std::max(cooldown - 1, 0);
  options_.min_lr = min_lr;
  options_.eps = 0;  // Keras cuts whenever lr is above min_lr
}

void ReduceLROnPlateau::on_train_begin(Logs&) { scheduler_.reset(); }

void ReduceLROnPlateau::on_epoch_end(int, Logs& logs) {
  const double current = monitored(logs, monitor_, "ReduceLROnPlateau");
  if (!scheduler_) scheduler_ = std::make_unique<optim::ReduceLROnPlateau>(model().optimizer(), options_);
  scheduler_->step(current);
  logs["lr"] = model().learning_rate();
}

// In a data-parallel fit every rank holds the same logs; rank 0 writes them.
void CSVLogger::on_train_begin(Logs&) {
  if (dist::rank() != 0) return;
  header_written_ = append_ && std::filesystem::exists(path_) && std::filesystem::file_size(path_) > 0;
  if (!append_) std::ofstream(path_, std::ios::trunc);
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
  if (dist::rank() != 0) return;
  std::ofstream out(path_, std::ios::app);
  NABLA_CHECK(out.good(), "CSVLogger: cannot write ", path_);
  if (!header_written_) {
    out << "epoch";
    for (const auto& [k, v] : logs) out << "," << k;
    out << "\n";
    header_written_ = true;
  }
  out << epoch + 1;
  for (const auto& [k, v] : logs) out << "," << v;
  out << "\n";
}

void TerminateOnNaN::on_train_batch_end(int64_t batch, Logs& logs) {
  auto it = logs.find("batch_loss");
  if (it != logs.end() && !std::isfinite(it->second)) {
    std::fprintf(stderr, "TerminateOnNaN: batch %lld has loss %g; stopping training\n", (long long)batch, it->second);
    model().stop_training = true;
  }
}

void BackupAndRestore::on_train_begin(Logs& logs) {
  if (!io::checkpoint_exists(backup_dir_)) return;
  logs["initial_epoch"] = model().load(backup_dir_);
}

void BackupAndRestore::on_epoch_end(int epoch, Logs&) { model().save(backup_dir_, epoch + 1); }

void BackupAndRestore::on_train_end(Logs&) {
  if (delete_checkpoint_ && !model().stop_training) std::filesystem::remove_all(backup_dir_);
}

}  // namespace nabla::train
