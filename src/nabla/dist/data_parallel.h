// DistributedDataParallel: one model replica per MPI rank, gradients summed across ranks while
// backward runs. Construction makes every rank start from rank 0's parameters and buffers (after
// checking all ranks hold the same parameter names and shapes); then each backward pass packs
// gradients into buckets in the order they become ready, starts a non-blocking MPI all-reduce as
// soon as a bucket is complete, and — once backward has finished and every reduction completed —
// writes the averages back into .grad. The module itself is unchanged: parameter names, state dicts
// and checkpoints stay those of the plain model. Buffers (BatchNorm's running statistics) are only
// broadcast at the start: each rank then updates its own from its shard, and checkpoints keep rank 0's
// (PyTorch's DDP with broadcast_buffers=False; there is no synchronised BatchNorm yet).
#pragma once
#include <memory>
#include <vector>

#include "nabla/dist/process_group.h"
#include "nabla/nn/module.h"

namespace nabla::dist {

struct DistributedDataParallelOptions {
  double bucket_cap_mb = 25;  // gradients per all-reduce call (PyTorch's default)
};

class DistributedDataParallel {
 public:
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module, DistributedDataParallelOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  nn::Module& module() { return *module_; }
  Tensor forward(const Tensor& x) { return module_->forward(x); }

  // This rank's real samples in the coming step and the total over all ranks. Gradients are
  // then weighted so the result is the gradient of the mean over all `global` samples, also when
  // ranks hold unequal shares (a last, partial batch); local = 0 contributes nothing. Without a
  // call, every rank is taken to hold the same number (a plain average over ranks).
  void set_sample_counts(int64_t local, int64_t global);

  // While a NoSync lives, backward keeps gradients local (accumulate micro-batches; the
  // backward after it ends reduces everything accumulated).
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp) : ddp_(ddp), previous_(ddp.sync_) { ddp.sync_ = false; }
    ~NoSync() { ddp_.sync_ = previous_; }

   private:
    DistributedDataParallel& ddp_;
    bool previous_;
  };

  int64_t bucket_count() const { return int64_t(buckets_.size()); }
  // Time backward's end spent waiting for reductions (communication not hidden behind compute).
  double wait_seconds() const { return wait_seconds_; }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    std::vector<int64_t> offsets;
    Tensor flat;  // f32, the gradients packed end to end
    int64_t ready = 0;
    bool launched = false, stale = false;  // stale: a gradient changed after the launch
    PendingReduction reduction;
  };
  void on_gradient_ready(size_t param);
  void launch(Bucket& bucket);
  void finish_step();

  std::shared_ptr<nn::Module> module_;
  std::vector<Tensor> params_;
  std::vector<size_t> bucket_of_;
  std::vector<bool> ready_;
  std::vector<Bucket> buckets_;
  std::shared_ptr<bool> alive_;  // hooks outlive this object in the tensors; they check it
  bool sync_ = true, step_pending_ = false;
  float pre_scale_ = 1, post_scale_ = 1;
  double wait_seconds_ = 0;
};

// Checks that every rank holds the same text (a config, parameter shapes), so a mismatch fails
// at start, on every rank, naming the first rank that differs from rank 0 and the first line
// where it does, instead of hanging in a collective later. `what` names the text in the message.
void check_same_on_all_ranks(const std::string& text, const std::string& what);

}  // namespace nabla::dist
