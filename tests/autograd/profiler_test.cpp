// The built-in profiler: forward ops and backward nodes timed separately with self time, GEMM
// FLOPs credited to the op that ran them, and the allocator and GEMM cache lines in the report.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "nabla/core/profiler.h"
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
