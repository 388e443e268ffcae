#include "nabla/train/stop_signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace nabla::train {
namespace {

std::atomic<int> requested{0};
struct sigaction previous_int, previous_term;

void on_signal(int signal_number) {
  if (requested.exchange(signal_number) != 0) {  // the second signal: stop now, the default way
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
    return;
  }
  static const char message[] =
      "\nnabla: stopping after this step and saving a checkpoint (signal again to quit at once)\n";
  const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);  // async-signal-safe
  (void)ignored;
}

}  // namespace

StopSignals::StopSignals() {
  requested = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_int);
  sigaction(SIGTERM, &action, &previous_term);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
}

bool stop_requested() { return requested.load() != 0; }
int stop_signal() { return requested.load(); }
void request_stop(int signal_number) { requested = signal_number; }
void clear_stop_request() { requested = 0; }

}  // namespace nabla::train
