// DataLoader: one worker thread fills a short queue of batches; the caller takes them in order.
#include "nabla/data/data_loader.h"

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"

namespace nabla::data {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64's finaliser: nearby inputs give unrelated seeds
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  NABLA_CHECK(dataset_ != nullptr, "DataLoader: the dataset is null");
  NABLA_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be at least 1, got ", options_.batch_size);
  NABLA_CHECK(options_.prefetch_depth >= 1, "DataLoader: prefetch_depth must be at least 1, got ",
              options_.prefetch_depth);
  NABLA_CHECK(options_.num_replicas >= 1 && options_.rank >= 0 && options_.rank < options_.num_replicas,
              "DataLoader: rank ", options_.rank, " is not one of num_replicas = ", options_.num_replicas);
  prefetching_ = options_.prefetch && dataset_->can_prefetch();
}

DataLoader::~DataLoader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  work_wanted_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = dataset_->size(), b = options_.batch_size * options_.num_replicas;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::start_epoch(int64_t epoch) {
  const int64_t n = dataset_->size();
  Generator gen(options_.seed + uint64_t(epoch));
  start_epoch(epoch, options_.shuffle ? randperm(n, gen) : arange(n));
}

void DataLoader::start_epoch(int64_t epoch, Tensor order, int64_t first_batch) {
  NABLA_CHECK(order.defined() && order.dim() == 1 && order.dtype() == DType::i64,
              "DataLoader: the sample order must be a 1-D i64 tensor, got ",
              order.defined() ? dtype_name(order.dtype()) : "none", " ", order.defined() ? order.shape() : Shape{});
  order = order.contiguous();
  const int64_t n = order.numel(), b = options_.batch_size * options_.num_replicas;
  const int64_t batches = options_.drop_last ? n / b : (n + b - 1) / b;
  NABLA_CHECK(first_batch >= 0 && first_batch <= batches, "DataLoader: first_batch ", first_batch,
              " is outside the epoch's ", batches, " batches");
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    order_ = std::move(order);
    epoch_ = epoch;
    num_batches_ = batches;
    built_ = first_batch;
    ready_.clear();
  }
  taken_ = first_batch;
  started_ = true;
  if (prefetching_) {
    if (!worker_.joinable()) worker_ = std::thread([this] { worker_loop(); });
    work_wanted_.notify_one();
  }
}

Batch DataLoader::build_batch(const Tensor& order, int64_t epoch, int64_t index) const {
  const int64_t replicas = options_.num_replicas, step = options_.batch_size * replicas;
  const int64_t start = index * step;
  const int64_t length = std::min(step, order.numel() - start);
  Batch batch;
  batch.global_size = length;
  if (replicas == 1) {
    batch.indices = order.narrow(0, start, length);
  } else if (options_.rank < length) {  // positions start + rank, + replicas, ... of this step
    batch.indices = order.narrow(0, start + options_.rank, length - options_.rank)
                        .slice(0, 0, length - options_.rank, replicas)
                        .contiguous();
  } else {  // fewer samples than ranks left: a stand-in that the reducer weighs as zero
    batch.indices = order.narrow(0, start, 1);
    batch.placeholder = true;
  }
  std::tie(batch.x, batch.y) = dataset_->batch(batch.indices);
  if (!options_.transforms.empty()) {
    // One generator per (seed, epoch, batch, rank): the same draws whichever thread builds the batch.
    const uint64_t rank_salt = options_.rank ? mix(uint64_t(options_.rank)) : 0;
    Generator gen(mix(mix(options_.seed) ^ uint64_t(epoch)) ^ uint64_t(index) ^ rank_salt);
    for (const BatchTransform& transform : options_.transforms) transform(batch, gen);
  }
  return batch;
}

std::optional<Batch> DataLoader::next() {
  NABLA_CHECK(started_, "DataLoader::next: call start_epoch(epoch) first");
  if (taken_ >= num_batches_) return std::nullopt;
  if (!prefetching_) {
    NoGradGuard no_grad;
    return build_batch(order_, epoch_, taken_++);
  }
  Slot slot;
  bool wake_worker = false;
  {
    std::unique_lock lock(mutex_);
    if (ready_.empty()) {
      caller_waiting_ = true;
      batch_ready_.wait(lock, [this] { return !ready_.empty(); });
      caller_waiting_ = false;
    }
    slot = std::move(ready_.front());
    ready_.pop_front();
    // Wake the worker only once the queue is half empty: waking a thread costs tens of
    // microseconds here (as much as copying a batch), so it refills several batches per wake-up.
    wake_worker = worker_sleeping_ && int64_t(ready_.size()) <= options_.prefetch_depth / 2;
  }
  if (wake_worker) work_wanted_.notify_one();
  ++taken_;
  if (slot.error) {
    taken_ = num_batches_;  // the epoch ends with its error
    std::rethrow_exception(slot.error);
  }
  return std::move(slot.batch);
}

void DataLoader::worker_loop() {
  NoGradGuard no_grad;  // grad mode is per thread; batches never need a graph
  std::unique_lock lock(mutex_);
  while (true) {
    const auto has_work = [this] {
      return stop_ || (built_ < num_batches_ && int64_t(ready_.size()) < options_.prefetch_depth);
    };
    if (!has_work()) {
      worker_sleeping_ = true;
      work_wanted_.wait(lock, has_work);
      worker_sleeping_ = false;
    }
    if (stop_) return;
    const int64_t index = built_++, epoch = epoch_;
    const uint64_t generation = generation_;
    const Tensor order = order_;
    lock.unlock();
    Slot slot;
    try {
      slot.batch = build_batch(order, epoch, index);
    } catch (...) {
      slot.error = std::current_exception();
    }
    lock.lock();
    if (generation != generation_) continue;  // start_epoch abandoned that epoch meanwhile
    if (slot.error) built_ = num_batches_;    // nothing after a failed batch
    ready_.push_back(std::move(slot));
    if (caller_waiting_) batch_ready_.notify_one();
  }
}

DataLoader::EpochRange DataLoader::epoch(int64_t epoch) {
  start_epoch(epoch);
  return EpochRange(this);
}

}  // namespace nabla::data
