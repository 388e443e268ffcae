// DataLoader: batches of a Dataset in a seeded per-epoch order, with the next batches built on a
// background thread while the caller trains (libtorch's DataLoaderOptions names where they fit).
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "nabla/data/dataset.h"
#include "nabla/data/transforms.h"

namespace nabla::data {

struct DataLoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = false;
  uint64_t seed = 0;       // epoch e shuffles with seed + e, so every epoch differs and runs repeat
  bool drop_last = false;  // drop a final batch smaller than batch_size
  // Build batches on a background thread. Only datasets whose can_prefetch() is true are read
  // there; others are read on the caller's thread, so the batches are the same either way.
  bool prefetch = true;
  int64_t prefetch_depth = 4;                   // batches built ahead; the worker refills when half are taken
  std::vector<BatchTransform> transforms = {};  // applied in order after the dataset's batch()
  // Data-parallel sharding (libtorch's DistributedSampler): every rank draws the same epoch
  // order; each step covers the next batch_size x num_replicas samples of it, of which rank r
  // takes every num_replicas-th from position r. All ranks take the same number of steps and
  // together see each sample once per epoch.
  int64_t num_replicas = 1;
  int64_t rank = 0;
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  ~DataLoader();  // stops the worker and joins it, also in the middle of an epoch
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts an epoch: shuffled with seed + epoch, or in order. Abandons the rest of any current epoch.
  void start_epoch(int64_t epoch);
  // Starts an epoch over an explicit order of sample indices (1-D i64, e.g. a permutation drawn by
  // the caller); `epoch` still seeds the random transforms. first_batch > 0 skips the batches
  // before it (resuming inside an epoch): the rest are exactly those of the whole epoch.
  void start_epoch(int64_t epoch, Tensor order, int64_t first_batch = 0);
  // The next batch of the current epoch, or nullopt after the last one. An error raised while
  // building a batch (on either thread) is thrown here, for the batch it belongs to.
  std::optional<Batch> next();

  int64_t batches_per_epoch() const;  // for the dataset's size and these options
  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }
  bool prefetching() const { return prefetching_; }

  // Range-for over one epoch: for (Batch& b : loader.epoch(e)) ...
  class EpochRange;
  EpochRange epoch(int64_t epoch);

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  Batch build_batch(const Tensor& order, int64_t epoch, int64_t index) const;
  void worker_loop();

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  bool prefetching_;

  // Caller-side epoch state.
  bool started_ = false;
  int64_t taken_ = 0;

  // Shared with the worker, guarded by mutex_.
  std::mutex mutex_;
  std::condition_variable work_wanted_, batch_ready_;
  Tensor order_;
  int64_t epoch_ = 0, num_batches_ = 0, built_ = 0;
  uint64_t generation_ = 0;  // bumped by start_epoch: batches of an abandoned epoch are dropped
  std::deque<Slot> ready_;
  bool stop_ = false;
  bool worker_sleeping_ = false, caller_waiting_ = false;  // so nobody pays for a wake-up nobody needs
  std::thread worker_;
};

class DataLoader::EpochRange {
 public:
  class Iterator {
   public:
    Batch& operator*() { return *current_; }
    Iterator& operator++() {
      current_ = loader_->next();
      return *this;
    }
    bool operator!=(const Iterator&) const { return current_.has_value(); }

   private:
    friend class EpochRange;
    DataLoader* loader_ = nullptr;
    std::optional<Batch> current_;
  };
  Iterator begin() {
    Iterator it;
    it.loader_ = loader_;
    it.current_ = loader_->next();
    return it;
  }
  Iterator end() { return {}; }

 private:
  friend class DataLoader;
  explicit EpochRange(DataLoader* loader) : loader_(loader) {}
  DataLoader* loader_;
};

}  // namespace nabla::data
