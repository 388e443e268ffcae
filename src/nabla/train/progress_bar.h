// Keras' progress bar: "12/469 ━━━━━━━━━━━━━━━━━━━━ 3s 7ms/step - accuracy: 0.81 - loss: 0.52".
// Redrawn in place only when the output is a terminal; otherwise one line per epoch, so logs
// stay readable (Keras users' top complaint is bars flooding log files).
#pragma once
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace nabla::train {

using Logs = std::map<std::string, double>;

class ProgressBar {
 public:
  // verbose: 0 silent, 1 bar, 2 one line per epoch. `interactive` defaults to isatty(out).
  ProgressBar(int64_t steps, int verbose, std::FILE* out = stdout, int interactive = -1);
  void update(int64_t step, const Logs& logs);  // step counts from 1
  void finish(const Logs& logs);                // final line of the epoch (adds val_ metrics)
  // The line as it would be printed (for tests).
  std::string render(int64_t step, const Logs& logs, bool final) const;

 private:
  int64_t steps_;
  int verbose_;
  std::FILE* out_;
  bool interactive_;
  std::chrono::steady_clock::time_point start_;
  double last_draw_ = -1;
};

// "3s", "1:05", "1:02:03" as Keras prints durations.
std::string format_duration(double seconds);

}  // namespace nabla::train
