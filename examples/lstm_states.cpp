// The articles' LSTM snippet, Keras' LSTM(32, return_sequences=True, return_state=True), in nabla:
// for a batch of sequences it gives the whole output sequence, the last hidden state and the last
// cell state. Prints their shapes, and checks that the last hidden state is the sequence's last step.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "nabla/nabla.h"

using namespace nabla;

int main() {
  manual_seed(0);
  const int64_t batch = 4, steps = 10, features = 8, units = 32;
  Tensor inputs = randn({batch, steps, features});  // (batch, timesteps, features), as Keras takes it
  nn::LSTM lstm(features, units, {.batch_first = true});
  nn::RecurrentOutput r = lstm.forward(inputs, Tensor(), Tensor());
  // Keras returns [whole_seq_output, final_memory_state, final_carry_state].
  Tensor whole_seq_output = r.output, final_memory_state = r.h_n.select(0, 0), final_carry_state = r.c_n.select(0, 0);
  std::printf("whole_seq_output   %s\n", (std::ostringstream() << whole_seq_output.shape()).str().c_str());
  std::printf("final_memory_state %s\n", (std::ostringstream() << final_memory_state.shape()).str().c_str());
  std::printf("final_carry_state  %s\n", (std::ostringstream() << final_carry_state.shape()).str().c_str());
  const std::vector<float> last_step = whole_seq_output.select(1, steps - 1).to_vector<float>();
  const std::vector<float> h = final_memory_state.to_vector<float>();
  double largest = 0;
  for (size_t i = 0; i < h.size(); ++i) largest = std::max(largest, std::fabs(double(h[i]) - last_step[i]));
  std::printf("final_memory_state == whole_seq_output[:, -1, :]: largest difference %.1e\n", largest);
  std::printf("first example's last hidden state, first 4 units: %.4f %.4f %.4f %.4f\n", h[0], h[1], h[2], h[3]);
  return largest == 0 ? 0 : 1;
}
