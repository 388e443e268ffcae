// The policies inside Model::fit's step loop, each alone: accumulation cycles, the search for a
// non-finite gradient, and what a non-finite loss or gradient does under each on_nonfinite setting.
#include "nabla/train/fit_steps.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../error_message.h"
#include "nabla/nabla.h"

using namespace nabla;
using namespace nabla::train;
using test_support::error_of;

TEST(FitSteps, AccumulationCyclesEndEveryNthStepAndAtTheEpochsEnd) {
  std::vector<int64_t> ends;
  for (int64_t step = 0; step < 10; ++step)
    if (ends_accumulation(step, 4, 10)) ends.push_back(step);
  EXPECT_EQ(ends, std::vector<int64_t>({3, 7, 9}));  // 9 closes a short cycle of two
  for (int64_t step = 0; step < 5; ++step) EXPECT_TRUE(ends_accumulation(step, 1, 5));
}

TEST(FitSteps, FirstNonFiniteGradientNamesTheParameter) {
  nn::Sequential net({std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Linear>(4, 2)});
  EXPECT_EQ(first_nonfinite_gradient(net), "");  // no gradients yet
  for (auto& [name, p] : net.named_parameters()) p.set_grad(zeros(p.shape()));
  EXPECT_EQ(first_nonfinite_gradient(net), "");
  Tensor g = zeros({2, 4});
  g.data<float>()[5] = std::numeric_limits<float>::infinity();
  net.named_parameters()[2].second.set_grad(g);
  EXPECT_EQ(first_nonfinite_gradient(net), "1.weight");
  Tensor b = zeros({4});
  b.data<float>()[3] = std::nanf("");
  net.named_parameters()[1].second.set_grad(b);
  EXPECT_EQ(first_nonfinite_gradient(net), "0.bias");  // the first in parameter order
}

TEST(FitSteps, StopPolicyFailsNamingTheStep) {
  NonFiniteGuard guard(/*skip=*/false, /*quiet_stop_on_loss=*/false);
  const StepPosition at{2, 6, 50};
  const std::string loss = error_of([&] { guard.loss_problem(std::nan(""), at); });
  EXPECT_NE(loss.find("the loss became nan at epoch 3, batch 7 of 50"), std::string::npos) << loss;
  EXPECT_NE(loss.find("on_nonfinite"), std::string::npos) << loss;
  const std::string grad = error_of([&] { guard.gradient_problem("fc.weight", 0.5, at); });
  EXPECT_NE(grad.find("the gradient of fc.weight became NaN/Inf"), std::string::npos) << grad;
  EXPECT_NE(grad.find("epoch 3, batch 7 of 50"), std::string::npos) << grad;
}

TEST(FitSteps, TerminateOnNaNTakesOverABadLossButNotABadGradient) {
  NonFiniteGuard guard(/*skip=*/false, /*quiet_stop_on_loss=*/true);
  const StepPosition at{0, 0, 10};
  std::string problem;
  EXPECT_EQ(error_of([&] { problem = guard.loss_problem(INFINITY, at); }), "(no error)");
  EXPECT_NE(problem.find("the loss became inf"), std::string::npos);
  guard.after_step(problem, at);
  EXPECT_EQ(guard.skipped_in_a_row(), 0);  // not a skipped step: TerminateOnNaN stops the run
  EXPECT_NE(error_of([&] { guard.gradient_problem("w", 1.0, at); }), "(no error)");
}

TEST(FitSteps, SkipPolicyDropsStepsAndGivesUpAfterTenInARow) {
  NonFiniteGuard guard(/*skip=*/true, /*quiet_stop_on_loss=*/false);
  StepPosition at{0, 0, 100};
  for (int i = 0; i < 5; ++i, ++at.step) guard.after_step(guard.loss_problem(std::nan(""), at), at);
  EXPECT_EQ(guard.skipped_in_a_row(), 5);
  guard.after_step("", at);  // a clean step resets the count
  EXPECT_EQ(guard.skipped_in_a_row(), 0);
  for (int i = 0; i < NonFiniteGuard::kMaxSkippedInARow - 1; ++i, ++at.step)
    guard.after_step(guard.gradient_problem("w", 1.0, at), at);
  const std::string message = error_of([&] { guard.after_step(guard.loss_problem(std::nan(""), at), at); });
  EXPECT_NE(message.find("10 steps in a row had a non-finite loss or gradient"), std::string::npos) << message;
}
