// Callbacks with Keras' hook names and a `logs` map ("loss", "accuracy", "val_loss", "lr", ...).
#pragma once
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "nabla/core/tensor.h"
#include "nabla/io/checkpoint.h"
#include "nabla/optim/schedulers.h"
#include "nabla/train/progress_bar.h"

namespace nabla::train {

class Model;

class Callback {
 public:
  virtual ~Callback() = default;
  void set_model(Model* model) { model_ = model; }
  virtual void on_train_begin(Logs&) {}
  virtual void on_train_end(Logs&) {}
  virtual void on_epoch_begin(int /*epoch*/, Logs&) {}
  virtual void on_epoch_end(int /*epoch*/, Logs&) {}
  virtual void on_train_batch_begin(int64_t /*batch*/, Logs&) {}
  virtual void on_train_batch_end(int64_t /*batch*/, Logs&) {}

 protected:
  Model& model() const;

 private:
  Model* model_ = nullptr;
};

using CallbackPtr = std::shared_ptr<Callback>;

// "min" for losses, "max" for accuracies; "auto" picks from the name like Keras.
std::string resolve_mode(const std::string& mode, const std::string& monitor);
bool improved(const std::string& mode, const std::string& monitor, double current, double best, double min_delta);

// Stops when `monitor` has not improved by min_delta for `patience` epochs.
class EarlyStopping : public Callback {
 public:
  EarlyStopping(std::string monitor = "val_loss", double min_delta = 0, int patience = 0, std::string mode = "auto",
                bool restore_best_weights = false);
  void on_train_begin(Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs&) override;
  int stopped_epoch = 0;  // 0 when training ran to the end

 private:
  std::string monitor_, mode_;
  double min_delta_;
  int patience_, wait_ = 0;
  bool restore_best_weights_;
  double best_;
  std::map<std::string, Tensor> best_weights_;
};

// Saves model.save(filepath) each epoch, or only on improvement. `filepath` may contain
// {epoch} or {epoch:02d} and {<metric>:.4f}-style placeholders.
// min_interval_seconds > 0 writes at most that often: an epoch due sooner is kept as an in-memory
// snapshot, replaced by later ones, and written when the interval has passed or training ends
// (so a thousand one-millisecond epochs do not wait on a thousand synced saves). The first save
// is never deferred; a crash loses at most the interval.
class ModelCheckpoint : public Callback {
 public:
  ModelCheckpoint(std::string filepath, std::string monitor = "val_loss", bool save_best_only = false,
                  std::string mode = "auto", double min_interval_seconds = 0);
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  std::string format_path(int epoch, const Logs& logs) const;

 private:
  void write_pending();
  std::string filepath_, monitor_, mode_;
  bool save_best_only_;
  double min_interval_seconds_;
  double best_ = std::numeric_limits<double>::quiet_NaN();
  std::optional<std::chrono::steady_clock::time_point> last_write_;
  std::optional<std::pair<std::string, io::Checkpoint>> pending_;  // path and snapshot not yet written
};

// lr = schedule(epoch, current_lr) at the start of each epoch.
class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(std::function<double(int epoch, double lr)> schedule)
      : schedule_(std::move(schedule)) {}
  void on_epoch_begin(int epoch, Logs& logs) override;

 private:
  std::function<double(int, double)> schedule_;
};

// Multiplies lr by `factor` after `patience` epochs without improvement, as Keras' callback does,
// by driving optim::ReduceLROnPlateau once per epoch: Keras counts the epoch that triggers a cut
// into `patience` and into `cooldown`, PyTorch does not, so they map to patience - 1 and
// cooldown - 1 there. Starts afresh at each fit (Keras' on_train_begin).
class ReduceLROnPlateau : public Callback {
 public:
  ReduceLROnPlateau(std::string monitor = "val_loss", double factor = 0.1, int patience = 10, std::string mode = "auto",
                    double min_delta = 1e-4, int cooldown = 0, double min_lr = 0);
  void on_train_begin(Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  std::string monitor_;
  optim::ReduceLROnPlateauOptions options_;
  std::unique_ptr<optim::ReduceLROnPlateau> scheduler_;
};

// Appends one row per epoch to a CSV file (header from the first epoch's keys).
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string path, bool append = false) : path_(std::move(path)), append_(append) {}
  void on_train_begin(Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  std::string path_;
  bool append_, header_written_ = false;
};

// Stops training at the first batch whose loss is NaN or infinite.
class TerminateOnNaN : public Callback {
 public:
  void on_train_batch_end(int64_t batch, Logs& logs) override;
};

// Saves a full checkpoint (weights, optimizer, RNG, epoch) to backup_dir after each epoch and
// restores it at the start of fit(), so a killed run resumes where it stopped; removed at the end.
class BackupAndRestore : public Callback {
 public:
  explicit BackupAndRestore(std::string backup_dir, bool delete_checkpoint = true)
      : backup_dir_(std::move(backup_dir)), delete_checkpoint_(delete_checkpoint) {}
  void on_train_begin(Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs&) override;

 private:
  std::string backup_dir_;
  bool delete_checkpoint_;
};

// User lambdas for any hook.
class LambdaCallback : public Callback {
 public:
  std::function<void(int, Logs&)> epoch_begin, epoch_end;
  std::function<void(int64_t, Logs&)> batch_end;
  std::function<void(Logs&)> train_begin, train_end;
  void on_train_begin(Logs& l) override {
    if (train_begin) train_begin(l);
  }
  void on_train_end(Logs& l) override {
    if (train_end) train_end(l);
  }
  void on_epoch_begin(int e, Logs& l) override {
    if (epoch_begin) epoch_begin(e, l);
  }
  void on_epoch_end(int e, Logs& l) override {
    if (epoch_end) epoch_end(e, l);
  }
  void on_train_batch_end(int64_t b, Logs& l) override {
    if (batch_end) batch_end(b, l);
  }
};

}  // namespace nabla::train
