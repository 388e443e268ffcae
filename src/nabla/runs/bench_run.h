// bench_run: the throughput of a run config's model, trained (or run) on one real batch of its data.
#pragma once
#include <cstdint>
#include <string>

#include "nabla/io/config.h"

namespace nabla::runs {

struct BenchOptions {
  std::string mode = "train";  // train: optimizer steps; infer: eval forward; generate: KV-cached sampling
  int64_t batch = 0;           // 0 = the config's training.batch_size (generate: 1)
  int steps = 10, warmup = 3;  // timed and untimed repetitions
  int64_t tokens = 256;        // generate: new tokens per row and repetition
  int64_t prompt = 1;          // generate: prompt tokens per row (real data)
  double top_p = 0;            // generate: 0 = greedy, else nucleus sampling at temperature 1
};

// Times the config's model on one real batch of its data, reused every step: {"median_s",
// "min_s", "max_s", "samples_per_s", "tokens_per_s" (token inputs), "peak_rss_mb", "parameters",
// "train_flops_per_token" (GPT), ...}. For `nabla bench` and bench/workloads.py.
io::json bench_run(const io::json& config, const BenchOptions& options);

}  // namespace nabla::runs
