// The built-in profiler: with NABLA_PROFILE=1 every op's forward and every autograd node's backward
// is timed, and at exit a table of time per op (self time: nested ops are subtracted), calls and
// GFLOP/s is printed to stderr with the allocator's and the GEMM cache's statistics. Off, a scope
// costs one predictable branch.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace nabla::profiler {

// On when NABLA_PROFILE is set to anything but "" or "0" (then the report prints at exit), or
// after set_enabled(true) (then call report() yourself).
bool enabled();
void set_enabled(bool on);

// Times the enclosing block as op `name` ("forward" or "backward" table). `name` must outlive the
// scope (a literal, or a node's name).
class Scope {
 public:
  explicit Scope(const char* name, bool backward = false) {
    if (enabled()) open(name, backward);
  }
  ~Scope() {
    if (open_) close();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  void open(const char* name, bool backward);
  void close();
  bool open_ = false;
};

// Credits floating-point operations to the innermost open scope (kernels call this), and to the
// running total below, whichever thread the kernel runs on.
void add_flops(double flops);
// Floating-point operations the kernels reported while profiling was on, since the program began
// (`nabla bench` differences it around one step to get the work per step).
double flops_counted();

// The table so far (what is printed at exit); empty when profiling is off.
std::string report();
// Forgets everything recorded so far (e.g. after warm-up).
void reset();
// Adds lines to the report from a higher layer (the GEMM primitive cache); returns true.
bool add_report_section(std::function<std::string()> section);

}  // namespace nabla::profiler

#define NABLA_PROFILE_CONCAT_(a, b) a##b
#define NABLA_PROFILE_CONCAT(a, b) NABLA_PROFILE_CONCAT_(a, b)
// Times the rest of the enclosing block as op `name` in the forward table.
#define NABLA_PROFILE_OP(name) ::nabla::profiler::Scope NABLA_PROFILE_CONCAT(nabla_profile_scope_, __LINE__)(name)
