// The recurrent benchmark shapes and the raw oneDNN RNN benchmark (rnn_dnnl_bench.cpp), shared with
// ops_bench.cpp, which registers both it and nabla's own LSTM/GRU rows under the same names.
#pragma once
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "nabla/kernels/rnn_cells.h"

// One layer, batch-first input [batch, steps, input], output [batch, steps, hidden].
struct RecurrentBenchShape {
  int64_t steps, batch, input, hidden;
  std::string name() const {
    char text[96];
    std::snprintf(text, sizeof text, "T%lld_B%lld_I%lld_H%lld", static_cast<long long>(steps),
                  static_cast<long long>(batch), static_cast<long long>(input), static_cast<long long>(hidden));
    return text;
  }
  // GEMM FLOPs of one training step: forward 2*T*B*(I+H)*G*H, backward twice that.
  double training_flops(nabla::kernels::RecurrentCell cell) const {
    return 3 * 2.0 * steps * batch * (input + hidden) * nabla::kernels::recurrent_gate_count(cell) * hidden;
  }
};

// One training step through oneDNN's lstm / lbr_gru primitives; exits if they disagree with nabla.
void raw_dnnl_recurrent(benchmark::State& state, nabla::kernels::RecurrentCell cell, RecurrentBenchShape shape);
