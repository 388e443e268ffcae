// Model: Keras' training API around any nn::Module — compile(optimizer, loss, metrics), fit()
// returning a History, evaluate(), predict(), save()/load() through checkpoint directories.
// Losses take the module's raw outputs: class scores are logits (softmax is inside the loss,
// as with PyTorch's CrossEntropyLoss or Keras' from_logits=True); "binary_crossentropy" takes
// probabilities (a sigmoid output layer, as in the articles) and "binary_crossentropy_from_logits" logits.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nabla/core/random.h"
#include "nabla/data/dataset.h"
#include "nabla/data/transforms.h"
#include "nabla/dist/data_parallel.h"
#include "nabla/io/checkpoint.h"
#include "nabla/nn/cross_entropy_head.h"
#include "nabla/nn/module.h"
#include "nabla/optim/optimizer.h"
#include "nabla/train/callbacks.h"
#include "nabla/train/fit_steps.h"
#include "nabla/train/history.h"
#include "nabla/train/metrics.h"

namespace nabla::data {
class DataLoader;
struct Batch;
}  // namespace nabla::data

namespace nabla::train {

// The datasets moved to the data layer; these names keep training code written against train:: working.
using data::Dataset;
using data::Subset;
using data::TensorDataset;

using LossFn = std::function<Tensor(const Tensor& prediction, const Tensor& target)>;

// "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
// "binary_crossentropy_from_logits", "mse"/"mean_squared_error", "mae"/"mean_absolute_error".
LossFn make_loss(const std::string& name);

struct FitOptions {
  int epochs = 1;
  int64_t batch_size = 32;
  double validation_split = 0;  // the LAST fraction of x/y (before shuffling), like Keras
  std::optional<std::pair<Tensor, Tensor>> validation_data;
  std::shared_ptr<const Dataset> validation_dataset;  // the same, from any Dataset
  bool shuffle = true;
  int initial_epoch = 0;  // epochs already done (for resuming)
  std::vector<CallbackPtr> callbacks;
  int verbose = 1;                 // 0 silent, 1 progress bar, 2 one line per epoch
  int64_t accumulation_steps = 1;  // gradient accumulation over micro-batches
  double clip_grad_norm = 0;       // > 0 clips the global gradient norm before each step
  int64_t steps_per_epoch = 0;     // > 0 ends each epoch after this many batches (Keras); 0 = all
  // A NaN/Inf loss or gradient never reaches the weights. stop (default): fit fails naming the
  // step and the first non-finite gradient (unless TerminateOnNaN is attached: it stops quietly).
  // skip: the step is dropped with a warning, and fit fails after 10 dropped in a row.
  enum class NonFinite { stop, skip };
  NonFinite on_nonfinite = NonFinite::stop;
  // Applied to each training batch (random crops, flips); evaluation sees the data as it is.
  std::vector<data::BatchTransform> train_transforms;
  // SIGINT/SIGTERM during fit finish the current optimizer step and return (Model::interrupted()),
  // with the position in the epoch kept for save() and the next fit (see StopSignals).
  bool stop_on_signals = false;
};

// Where an interrupted fit stopped inside an epoch. save() writes it into the checkpoint and
// load() reads it back, so the next fit continues with the same batches, dropout masks and epoch
// metrics as a run that was never interrupted.
struct EpochProgress {
  int epoch = 0;                 // the epoch in progress (0-based)
  int64_t step = 0;              // its batches already trained; 0 = at the epoch's start
  Generator::State order_rng{};  // the generator when the epoch drew its sample order
  std::vector<double> totals;    // the epoch's loss sum, samples and metric sums so far (all ranks)
};

// Knowledge distillation: while training, the loss is alpha * distillation_loss(student, teacher,
// temperature) + (1 - alpha) * the compiled loss. The teacher runs in eval mode without a graph,
// in its own precision (bf16 is cheaper and its soft targets barely move). Evaluation and
// validation report the compiled loss alone, comparable with a student trained without a teacher.
struct Distillation {
  std::shared_ptr<nn::Module> teacher;
  double temperature = 2.0;
  double alpha = 0.5;
  DType teacher_precision = DType::f32;
};

class Model {
 public:
  explicit Model(std::shared_ptr<nn::Module> module);

  void compile(std::shared_ptr<optim::Optimizer> optimizer, LossFn loss, const std::vector<std::string>& metrics = {},
               const std::string& loss_name = "");
  // A loss by name (make_loss). Named sparse_categorical_crossentropy on a module with a fused
  // head (nn::CrossEntropyHead) whose metrics need no scores, the head computes it without ever
  // forming the whole score tensor.
  void compile(std::shared_ptr<optim::Optimizer> optimizer, const std::string& loss,
               const std::vector<std::string>& metrics = {});
  // Whether compile chose the module's fused head for the loss.
  bool fuses_loss() const { return fused_head_ != nullptr; }
  // Trains against a teacher's soft targets from now on (see Distillation).
  void distill_from(Distillation distillation);
  // An optimizer by name (optim::make_optimizer) with Keras' default learning rate unless lr > 0.
  void compile(const std::string& optimizer, const std::string& loss, const std::vector<std::string>& metrics = {},
               double lr = -1);

  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  History fit(std::shared_ptr<const Dataset> train, const FitOptions& options = {});
  // Loss and metrics in eval mode: {"loss": ..., "accuracy": ...}.
  Logs evaluate(const Tensor& x, const Tensor& y, int64_t batch_size = 32, int verbose = 0);
  Logs evaluate(const Dataset& data, int64_t batch_size = 32, int verbose = 0);
  Tensor predict(const Tensor& x, int64_t batch_size = 32);
  // One optimizer step on one batch in train mode (Keras' train_on_batch): forward, loss, backward,
  // gradient clipping when clip_grad_norm > 0, step. Returns the batch's loss.
  double train_on_batch(const Tensor& x, const Tensor& y, double clip_grad_norm = 0);

  // A checkpoint directory: weights, optimizer state, epoch and RNG (see io/checkpoint.h).
  // Distributed, only rank 0 writes (every rank holds the same state).
  void save(const std::string& dir, int epoch = 0) const;
  // What save() writes, with every tensor copied: a snapshot to write later (ModelCheckpoint's
  // save interval), untouched by further training.
  io::Checkpoint snapshot(int epoch = 0) const;
  // Whether this process writes checkpoints (distributed: rank 0 only).
  bool writes_checkpoints() const;
  // Loads weights (and optimizer state when compiled); returns the epoch recorded.
  int load(const std::string& dir);

  // Mixed precision for fit, evaluate, predict and train_on_batch: DType::bf16 runs the model
  // under AutocastGuard (bf16 GEMM inputs, f32 accumulation, f32 weights); f32 (default) is off.
  void set_precision(DType compute_dtype);
  DType precision() const { return precision_; }

  // Data-parallel over the MPI ranks (after dist::init; launch with mpirun -np N): fit starts
  // every rank from rank 0's weights, gives each rank its shard of every step (batch_size samples
  // per rank: the effective batch is batch_size x ranks) and averages gradients across ranks
  // during backward; fit and evaluate report metrics over all ranks' data. Only rank 0 prints,
  // and callbacks that write files write only on rank 0. A no-op in a world of one process.
  void distribute(bool enabled = true, dist::DistributedDataParallelOptions options = {});
  bool distributed() const { return distributed_; }

  // Whether the last fit stopped early on a signal, and where (progress().step > 0: mid-epoch).
  bool interrupted() const { return interrupted_; }
  const EpochProgress& progress() const { return progress_; }

  // What fit and evaluate log: "loss" and each metric's name ("accuracy", ...).
  std::vector<std::string> logged_names() const;

  nn::Module& module() { return *module_; }
  optim::Optimizer& optimizer();
  double learning_rate();
  void set_learning_rate(double lr);
  bool stop_training = false;

 private:
  io::Checkpoint checkpoint_of(int epoch, bool copy) const;
  // One epoch of fit as a short loop over the steps below.
  Logs run_epoch(data::DataLoader& loader, const FitOptions& options, int epoch, ProgressBar& bar,
                 dist::DistributedDataParallel* ddp, NonFiniteGuard& guard);
  // This rank's loss sum and sample count over the epoch so far (the metrics keep their own).
  struct EpochSums {
    double loss = 0;
    int64_t seen = 0;
  };
  // Zero, or the sums a checkpoint saved mid-epoch.
  EpochSums start_epoch_sums();
  struct StepLoss {
    Tensor tensor;
    double value;
    bool finite_here;  // on this rank (a stand-in batch counts as finite)
  };
  // Forward and loss on one batch, added to the epoch's sums and metrics when finite.
  StepLoss forward_step(const data::Batch& batch, dist::DistributedDataParallel* ddp, EpochSums& sums);
  // Backward; at the end of an accumulation cycle, the gradient check and the optimizer step.
  // Returns the step's problem ("" if none).
  std::string backward_step(const StepLoss& loss, const StepPosition& at, const FitOptions& options,
                            dist::DistributedDataParallel* ddp, const NonFiniteGuard& guard);
  // Loss and metrics from this rank's sums, summed over ranks when distributed, with whether every
  // rank's loss was finite and whether any rank was asked to stop.
  struct StepTotals {
    Logs logs;
    std::vector<double> totals;  // loss sum, samples, metric sums: over all ranks
    bool all_finite = true, stop = false;
  };
  StepTotals logs_over_ranks(double loss_sum, int64_t seen, bool finite_here, bool stop_here) const;
  void synchronize_generator() const;
  void check_compiled(const char* what) const;
  // Forward and loss: the module's fused head when compile chose it, else forward then the loss.
  // `prediction`, when given, receives what the metrics read.
  Tensor forward_loss(const Tensor& x, const Tensor& y, Tensor* prediction);

  std::shared_ptr<nn::Module> module_;
  std::shared_ptr<optim::Optimizer> optimizer_;
  LossFn loss_;
  std::string loss_name_;
  nn::CrossEntropyHead* fused_head_ = nullptr;  // the module itself, when its loss is fused
  std::optional<Distillation> distillation_;
  std::vector<std::string> metric_names_;
  std::vector<std::unique_ptr<Metric>> metrics_;
  DType precision_ = DType::f32;
  bool distributed_ = false;
  EpochProgress progress_;
  bool interrupted_ = false;
  dist::DistributedDataParallelOptions ddp_options_;
};

}  // namespace nabla::train
