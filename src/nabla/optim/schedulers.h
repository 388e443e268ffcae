// Learning-rate schedules: each rewrites the lr of every parameter group of an Optimizer, with
// PyTorch's formulas (torch.optim.lr_scheduler), so a run and its PyTorch twin see the same lrs.
// Call step() once after each optimizer.step() (or each epoch, for epoch-based schedules).
// The scheduler holds a reference to the optimizer, which must outlive it.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nabla/optim/optimizer.h"

namespace nabla::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Advances one step and writes the new lr into every group.
  void step();
  // Steps taken: 0 right after construction (which already set the lrs for step 0).
  int64_t last_step() const { return last_step_; }
  // The group lrs when the scheduler was made, which closed-form schedules scale.
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  // The lrs the latest step set (PyTorch's get_last_lr()).
  const std::vector<double>& last_lr() const { return last_lr_; }

  // "last_step" (i64), "base_lr.<g>" and "last_lr.<g>" (encode_double). Restore the optimizer's
  // state dict too: the group lrs live there. Make the scheduler before loading the optimizer's
  // state, since construction writes the lrs of step 0.
  std::map<std::string, Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  LRScheduler(std::string name, Optimizer& optimizer);
  // Called at the end of the derived constructor: sets the lrs of step 0 (compute_lrs is virtual).
  void initial_step();
  // The lrs for last_step_ (already advanced). `initial` is true for the constructor's call.
  virtual std::vector<double> compute_lrs(bool initial) = 0;
  std::vector<double> current_lrs() const;

  std::string name_;
  Optimizer& optimizer_;
  int64_t last_step_ = -1;
  std::vector<double> base_lrs_, last_lr_;
};

// lr *= gamma every step_size steps.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> compute_lrs(bool initial) override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr *= gamma every step.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> compute_lrs(bool initial) override;

 private:
  double gamma_;
};

// Linear warmup from 0 to the base lr over warmup_steps, then a half cosine from the base lr down to
// min_lr at total_steps, then min_lr (the usual transformer schedule; in PyTorch a LambdaLR).
class CosineWithWarmup : public LRScheduler {
 public:
  CosineWithWarmup(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps, double min_lr = 0.0);

 protected:
  std::vector<double> compute_lrs(bool initial) override;

 private:
  int64_t warmup_steps_, total_steps_;
  double min_lr_;
};

struct OneCycleOptions {
  enum class Anneal { cos, linear };
  double pct_start = 0.3;  // share of the steps spent rising to max_lr
  Anneal anneal_strategy = Anneal::cos;
  // Momentum (SGD/RMSprop "momentum", Adam "beta1") moves opposite to the lr.
  bool cycle_momentum = true;
  double base_momentum = 0.85, max_momentum = 0.95;
  double div_factor = 25;         // initial lr = max_lr / div_factor
  double final_div_factor = 1e4;  // final lr = initial lr / final_div_factor
  bool three_phase = false;
};

// The 1cycle policy (torch.optim.lr_scheduler.OneCycleLR): up from max_lr / div_factor to max_lr,
// then down to far below the start, over total_steps steps (stepping past it is an error).
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps, const OneCycleOptions& options = {});
  OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, int64_t total_steps,
             const OneCycleOptions& options = {});

 protected:
  std::vector<double> compute_lrs(bool initial) override;

 private:
  enum LrPoint { kInitial, kMax, kMin };
  struct Phase {
    double end_step;
    LrPoint start_lr, end_lr;
    double start_momentum, end_momentum;
  };
  double anneal(double start, double end, double pct) const;
  const char* momentum_option(const ParamGroup& group) const;

  int64_t total_steps_;
  OneCycleOptions options_;
  std::vector<double> max_lrs_;
  std::vector<Phase> phases_;
};

struct ReduceLROnPlateauOptions {
  enum class Mode { min, max };  // whether the metric should go down (a loss) or up (accuracy)
  enum class ThresholdMode { rel, abs };
  Mode mode = Mode::min;
  double factor = 0.1;      // new lr = lr * factor
  int64_t patience = 10;    // bad steps tolerated before reducing
  double threshold = 1e-4;  // how much better counts as better
  ThresholdMode threshold_mode = ThresholdMode::rel;
  int64_t cooldown = 0;  // steps to wait after a reduction before counting bad steps again
  double min_lr = 0;
  double eps = 1e-8;  // reductions smaller than this are skipped
};

// Cuts the lr when a metric stops improving (torch.optim.lr_scheduler.ReduceLROnPlateau).
// step(metric) once per evaluation.
class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options = {});

  void step(double metric);
  int64_t last_step() const { return last_step_; }
  double best() const { return best_; }
  int64_t num_bad_steps() const { return num_bad_steps_; }
  const std::vector<double>& last_lr() const { return last_lr_; }

  // "last_step", "num_bad_steps", "cooldown_counter" (i64), "best" (encode_double).
  std::map<std::string, Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  bool is_better(double a, double best) const;

  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  int64_t last_step_ = 0, num_bad_steps_ = 0, cooldown_counter_ = 0;
  double best_;
  std::vector<double> last_lr_;
};

}  // namespace nabla::optim
