#include "nabla/train/progress_bar.h"

#include <unistd.h>

#include <cmath>
#include <sstream>

namespace nabla::train {

std::string format_duration(double seconds) {
  const int64_t s = int64_t(std::llround(seconds));
  char buffer[32];
  if (s < 60)
    std::snprintf(buffer, sizeof buffer, "%llds", (long long)s);
  else if (s < 3600)
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  else
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                  (long long)(s % 60));
  return buffer;
}

ProgressBar::ProgressBar(int64_t steps, int verbose, std::FILE* out, int interactive)
    : steps_(steps), verbose_(verbose), out_(out), start_(std::chrono::steady_clock::now()) {
  interactive_ = interactive >= 0 ? interactive != 0 : ::isatty(::fileno(out)) != 0;
}

std::string ProgressBar::render(int64_t step, const Logs& logs, bool final) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::ostringstream line;
  const int width = 20;
  const int filled = steps_ > 0 ? int(width * step / steps_) : width;
  line << step << "/" << steps_ << " ";
  for (int i = 0; i < width; ++i) line << (i < filled ? "\u2501" : " ");
  const double per_step = step > 0 ? elapsed / double(step) : 0;
  if (final)
    line << " " << format_duration(elapsed);
  else
    line << " " << format_duration(per_step * double(steps_ - step)) << " ETA";  // time left
  if (per_step >= 1)
    line << " " << int64_t(per_step) << "s/step";
  else if (per_step >= 1e-3)
    line << " " << int64_t(per_step * 1e3) << "ms/step";
  else
    line << " " << int64_t(per_step * 1e6) << "us/step";
  // Keras orders training metrics alphabetically with loss last among its group; keep
  // training keys first, then val_ keys.
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& [key, value] : logs) {
      const bool is_val = key.rfind("val_", 0) == 0;
      if ((pass == 0) == is_val) continue;
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, " - %s: %.4f", key.c_str(), value);
      line << buffer;
    }
  return line.str();
}

void ProgressBar::update(int64_t step, const Logs& logs) {
  if (verbose_ != 1 || !interactive_) return;
  const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (step < steps_ && now - last_draw_ < 0.05) return;  // at most 20 redraws a second
  last_draw_ = now;
  std::fprintf(out_, "\r%s\033[K", render(step, logs, false).c_str());
  std::fflush(out_);
}

void ProgressBar::finish(const Logs& logs) {
  if (verbose_ == 0) return;
  const std::string line = render(steps_, logs, true);
  if (interactive_ && verbose_ == 1)
    std::fprintf(out_, "\r%s\033[K\n", line.c_str());
  else
    std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

}  // namespace nabla::train
