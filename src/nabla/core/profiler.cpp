#include "nabla/core/profiler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "nabla/core/allocator.h"

namespace nabla::profiler {
namespace {

using clock = std::chrono::steady_clock;

struct Totals {
  uint64_t calls = 0;
  double seconds = 0, flops = 0;
};

struct Open {  // a scope on this thread's stack
  const char* name;
  bool backward;
  clock::time_point start;
  double child_seconds = 0, flops = 0;
};

struct State {
  std::mutex mutex;
  std::map<std::pair<bool, std::string>, Totals> totals;  // (backward, op) -> totals
  std::vector<std::function<std::string()>> sections;
};
State& state() {
  static State* s = new State();  // never destroyed: the exit report runs after static destructors start
  return *s;
}
thread_local std::vector<Open> stack;

void print_at_exit() { std::fputs(report().c_str(), stderr); }

}  // namespace

std::atomic<bool>& switched_on() {
  static std::atomic<bool> on = [] {
    const char* v = std::getenv("NABLA_PROFILE");
    const bool yes = v && *v && std::string(v) != "0";
    if (yes) std::atexit(print_at_exit);
    return yes;
  }();
  return on;
}

bool enabled() { return switched_on().load(std::memory_order_relaxed); }
void set_enabled(bool on) { switched_on().store(on); }

void Scope::open(const char* name, bool backward) {
  stack.push_back({name, backward, clock::now()});
  open_ = true;
}

void Scope::close() {
  Open top = stack.back();
  stack.pop_back();
  const double seconds = std::chrono::duration<double>(clock::now() - top.start).count();
  if (!stack.empty()) stack.back().child_seconds += seconds;
  std::lock_guard lock(state().mutex);
  Totals& t = state().totals[{top.backward, top.name}];
  t.calls++;
  t.seconds += seconds - top.child_seconds;
  t.flops += top.flops;
}

namespace {
std::atomic<double> counted{0};  // every thread's flops, for flops_counted()
}  // namespace

void add_flops(double flops) {
  if (!enabled()) return;
  counted.fetch_add(flops, std::memory_order_relaxed);
  if (!stack.empty()) stack.back().flops += flops;
}

double flops_counted() { return counted.load(std::memory_order_relaxed); }

void reset() {
  std::lock_guard lock(state().mutex);
  state().totals.clear();
}

bool add_report_section(std::function<std::string()> section) {
  std::lock_guard lock(state().mutex);
  state().sections.push_back(std::move(section));
  return true;
}

std::string report() {
  if (!enabled()) return "";
  std::vector<std::function<std::string()>> sections;
  std::vector<std::pair<std::pair<bool, std::string>, Totals>> rows;
  {
    std::lock_guard lock(state().mutex);
    rows.assign(state().totals.begin(), state().totals.end());
    sections = state().sections;
  }
  double total = 0;
  for (auto& r : rows) total += r.second.seconds;
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.seconds > b.second.seconds; });
  std::ostringstream out;
  char line[256];
  out << "\nnabla profile (NABLA_PROFILE=1): self time per op, nested ops subtracted\n";
  std::snprintf(line, sizeof line, "%-9s %-28s %10s %12s %7s %11s %9s\n", "pass", "op", "calls", "total ms", "%",
                "avg us", "GFLOP/s");
  out << line;
  for (auto& [key, t] : rows) {
    char rate[32] = "-";
    if (t.flops > 0 && t.seconds > 0) std::snprintf(rate, sizeof rate, "%.1f", t.flops / t.seconds / 1e9);
    std::snprintf(line, sizeof line, "%-9s %-28.28s %10llu %12.2f %6.1f%% %11.1f %9s\n",
                  key.first ? "backward" : "forward", key.second.c_str(), static_cast<unsigned long long>(t.calls),
                  t.seconds * 1e3, total > 0 ? 100 * t.seconds / total : 0.0, 1e6 * t.seconds / double(t.calls), rate);
    out << line;
  }
  std::snprintf(line, sizeof line, "total in ops: %.2f ms\n", total * 1e3);
  out << line;
  const AllocatorStats a = CachingAllocator::instance().stats();
  std::snprintf(line, sizeof line,
                "allocator: %llu allocations, %.1f%% from the cache, peak in use %.1f MB, cached now %.1f MB\n",
                static_cast<unsigned long long>(a.allocations),
                a.allocations ? 100.0 * double(a.cache_hits) / double(a.allocations) : 0.0,
                double(a.peak_bytes_in_use) / 1e6, double(a.bytes_cached) / 1e6);
  out << line;
  for (auto& section : sections) out << section();
  return out.str();
}

}  // namespace nabla::profiler
