// Graceful stop on SIGINT / SIGTERM (Ctrl-C, a scheduler's preemption): while a StopSignals
// lives, the first such signal only asks the training loop to stop after the current step (it
// then saves where it was); a second one ends the process at once, as without it.
#pragma once

namespace nabla::train {

class StopSignals {
 public:
  StopSignals();   // installs the handlers (and clears an old request)
  ~StopSignals();  // restores the previous handlers
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
};

// Whether a stop was asked for, and by which signal (0 = none).
bool stop_requested();
int stop_signal();
// Asks for a stop as a signal would (for tests and embedding programs).
void request_stop(int signal_number);
void clear_stop_request();

}  // namespace nabla::train
