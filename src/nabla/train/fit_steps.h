// The policies inside Model::fit's step loop, as named pieces that can be tested alone: which
// micro-batch ends an accumulation cycle, and what a non-finite loss or gradient does to the run.
#pragma once
#include <cstdint>
#include <string>

#include "nabla/nn/module.h"

namespace nabla::train {

// Where a step is, for messages: 0-based epoch and step, and the steps of this epoch.
struct StepPosition {
  int epoch = 0;
  int64_t step = 0, steps = 0;
};

// Whether `step` ends a cycle of `accumulation` micro-batches: every accumulation-th step, and the
// epoch's last step however many micro-batches it closes.
bool ends_accumulation(int64_t step, int64_t accumulation, int64_t steps);

// The name of the first parameter whose gradient holds a NaN or an infinity, or "".
std::string first_nonfinite_gradient(const nn::Module& module);

// FitOptions::on_nonfinite. A non-finite loss or gradient never reaches the weights: under stop
// the run fails naming the step (or, with TerminateOnNaN attached, a bad loss is left for it to stop
// quietly); under skip the step is dropped with a warning, and the run fails after 10 in a row.
class NonFiniteGuard {
 public:
  static constexpr int kMaxSkippedInARow = 10;

  NonFiniteGuard(bool skip, bool quiet_stop_on_loss);

  // The problem with a step whose loss was not finite on some rank (loss_value is this rank's).
  // Throws when the run must stop.
  std::string loss_problem(double loss_value, const StepPosition& at) const;
  // The problem with a finite-loss step whose gradient of `parameter` is not finite. Throws when
  // the run must stop.
  std::string gradient_problem(const std::string& parameter, double loss_value, const StepPosition& at) const;
  // After every step with what went wrong ("" for a clean step): counts dropped steps.
  void after_step(const std::string& problem, const StepPosition& at);
  int skipped_in_a_row() const { return skipped_in_a_row_; }

 private:
  bool skip_, quiet_stop_on_loss_;
  int skipped_in_a_row_ = 0;
};

}  // namespace nabla::train
