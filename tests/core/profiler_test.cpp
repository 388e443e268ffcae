// The built-in profiler: forward ops and backward nodes timed separately with self time, GEMM
// FLOPs credited to the op that ran them, and the allocator and GEMM cache lines in the report.
#include "nabla/core/profiler.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "nabla/kernels/rnn_onednn.h"
#include "nabla/nabla.h"

using namespace nabla;

namespace {

// The row of `pass` and `op` in the report, e.g. "forward   matmul   3   1.23 ...", or "".
std::string row(const std::string& report, const std::string& pass, const std::string& op) {
  std::smatch m;
  const std::regex pattern("(^|\n)(" + pass + " +" + op + " +[^\n]*)");
  return std::regex_search(report, m, pattern) ? m[2].str() : "";
}

uint64_t calls_in(const std::string& line) {
  std::istringstream in(line);
  std::string pass, op;
  uint64_t calls = 0;
  in >> pass >> op >> calls;
  return calls;
}

}  // namespace

TEST(Profiler, TimesForwardAndBackwardPerOpWithGemmFlops) {
  profiler::set_enabled(true);
  profiler::reset();
  Tensor a = randn({64, 128}).requires_grad_(), b = randn({128, 96}).requires_grad_();
  for (int i = 0; i < 3; ++i) {
    Tensor loss = sum(relu(matmul(a, b)));
    loss.backward();
  }
  const std::string report = profiler::report();
  profiler::set_enabled(false);

  const std::string forward_matmul = row(report, "forward", "matmul");
  ASSERT_FALSE(forward_matmul.empty()) << report;
  EXPECT_EQ(calls_in(forward_matmul), 3u) << report;
  EXPECT_NE(forward_matmul.back(), '-') << "matmul rows report GFLOP/s: " << forward_matmul;
  EXPECT_EQ(calls_in(row(report, "forward", "relu")), 3u) << report;
  EXPECT_EQ(calls_in(row(report, "forward", "sum")), 3u) << report;
  // Backward nodes carry the op's name; matmul's backward runs two GEMMs, so it reports GFLOP/s too.
  const std::string backward_matmul = row(report, "backward", "matmul");
  ASSERT_FALSE(backward_matmul.empty()) << report;
  EXPECT_EQ(calls_in(backward_matmul), 3u) << report;
  EXPECT_NE(backward_matmul.back(), '-') << backward_matmul;
  EXPECT_NE(report.find("allocator: "), std::string::npos) << report;
  EXPECT_NE(report.find("primitive cache hit rate"), std::string::npos) << report;

  profiler::reset();
  EXPECT_TRUE(row(profiler::report(), "forward", "matmul").empty()) << "reset forgets the rows";
}

TEST(Profiler, OffRecordsNothing) {
  profiler::set_enabled(false);
  Tensor x = matmul(randn({8, 8}), randn({8, 8}));
  EXPECT_EQ(profiler::report(), "");
}

// flops_counted() is what `nabla bench` reports as the work of a step: every GEMM, convolution pass
// and recurrent primitive, whichever thread ran it, and nothing while profiling is off.
TEST(Profiler, CountsTheFlopsOfConvolutionsAndRecurrentPrimitives) {
  profiler::set_enabled(true);
  Tensor x = randn({2, 3, 8, 8}).requires_grad_(), w = randn({4, 3, 3, 3}).requires_grad_();
  double before = profiler::flops_counted();
  Tensor y = conv2d(x, w);  // [2, 4, 6, 6]: 2 x 4 x 36 outputs of 27 multiply-adds
  const double pass = 2.0 * 2 * 4 * 36 * 27;
  EXPECT_DOUBLE_EQ(profiler::flops_counted() - before, pass);
  before = profiler::flops_counted();
  sum(y).backward();  // input and weight gradients: one pass each
  EXPECT_DOUBLE_EQ(profiler::flops_counted() - before, 2 * pass);

  kernels::set_recurrent_backend(kernels::RecurrentBackend::onednn);
  nn::GRU gru(4, 5);
  Tensor seq = randn({3, 2, 4}).requires_grad_();  // [T, B, input]
  before = profiler::flops_counted();
  Tensor out = gru.forward(seq);
  const double sequence = 2.0 * 3 * 2 * (4 + 5) * (3 * 5);  // [x_t, h_t-1] x the 3 stacked gates
  EXPECT_DOUBLE_EQ(profiler::flops_counted() - before, sequence);
  before = profiler::flops_counted();
  sum(out).backward();
  EXPECT_DOUBLE_EQ(profiler::flops_counted() - before, 2 * sequence);
  kernels::set_recurrent_backend(kernels::RecurrentBackend::automatic);

  profiler::set_enabled(false);
  before = profiler::flops_counted();
  conv2d(x, w);
  EXPECT_EQ(profiler::flops_counted(), before) << "profiling off counts nothing";
}
