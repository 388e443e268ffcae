// bench_run: the throughput of a run config's model, trained (or run) on one real batch of its data.
#include "nabla/runs/bench_run.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <tuple>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/core/profiler.h"
#include "nabla/core/random.h"
#include "nabla/dist/data_parallel.h"
#include "nabla/kernels/parallel.h"
#include "nabla/models/generation.h"
#include "nabla/models/gpt.h"
#include "nabla/ops/autocast.h"
#include "nabla/runs/config_limits.h"
#include "nabla/runs/run_optimizer.h"
#include "nabla/runs/task_data.h"
#include "nabla/train/model.h"

namespace nabla::runs {

using io::ConfigReader;
using models::BuiltModel;

namespace {

double peak_resident_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

// Runs `work` warmup + steps times; the timed runs' seconds, sorted.
template <class Work>
std::vector<double> time_runs(int warmup, int steps, Work&& work) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < warmup; ++i) work();
  std::vector<double> seconds;
  for (int i = 0; i < steps; ++i) {
    const auto start = clock::now();
    work();
    seconds.push_back(std::chrono::duration<double>(clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds;
}

// The floating-point work of one run of `work`, as the kernels count it (GEMMs, convolutions,
// recurrent primitives); element-wise ops count none, so this is the work a FLOP-bound step needs.
template <class Work>
double counted_flops(Work&& work) {
  const bool was_on = profiler::enabled();
  profiler::set_enabled(true);
  const double before = profiler::flops_counted();
  work();
  const double flops = profiler::flops_counted() - before;
  profiler::set_enabled(was_on);
  return flops;
}

double median(const std::vector<double>& sorted) {
  const size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

}  // namespace

io::json bench_run(const io::json& config, const BenchOptions& options) {
  NABLA_CHECK(options.mode == "train" || options.mode == "infer" || options.mode == "generate",
              "bench: unknown mode \"", options.mode, "\"; use train, infer or generate");
  NABLA_CHECK(options.steps >= 1 && options.warmup >= 0 && options.tokens >= 1,
              "bench: steps and tokens must be at least 1 and warmup at least 0");
  ConfigReader root(config);
  const std::string name = root.string("name", "run");
  const uint64_t seed = uint64_t(root.integer("seed", 42, 0, INT64_MAX));
  manual_seed(seed);
  ConfigReader data_cfg = root.object("data");
  TaskData data = load_task_data(data_cfg, seed);
  ConfigReader model_cfg = root.object("model");
  BuiltModel built = models::build_model(model_cfg, data.shape);
  ConfigReader t = root.object("training");
  const int64_t batch = options.batch > 0 ? options.batch : t.integer("batch_size", 32, 1, kMaxBatch);
  const double clip = t.number("clip_grad_norm", 0.0, 0);
  train::Model model(built.module);
  model.compile(build_optimizer(t.object("optimizer"), built), t.string("loss", loss_for(built.task)));
  model.set_precision(parse_precision(t.string("precision", "fp32", {"fp32", "bf16"})));

  // One real batch, reused every step: the measurement is the model's work, not the loader's.
  NABLA_CHECK(data.train->size() >= batch, "bench: the training set has ", data.train->size(),
              " examples, fewer than the batch of ", batch);
  Tensor x, y;  // (not a structured binding: clang 14 cannot capture those in the lambdas below)
  std::tie(x, y) = data.train->batch(arange(batch));
  const int64_t tokens_per_sample =
      data.shape.input_dtype == DType::i64 && data.shape.input.size() == 1 ? data.shape.input[0] : 0;

  std::vector<double> seconds;
  // Under mpirun, training is data-parallel: every rank runs the batch, gradients are averaged
  // across ranks in backward, and a step processes batch x ranks samples.
  const int ranks = options.mode == "train" ? dist::world_size() : 1;
  std::unique_ptr<dist::DistributedDataParallel> ddp;
  if (ranks > 1) ddp = std::make_unique<dist::DistributedDataParallel>(built.module);
  int64_t samples = batch * ranks, tokens = batch * tokens_per_sample * ranks;
  double step_flops = 0;
  if (options.mode == "train") {
    auto step = [&] { model.train_on_batch(x, y, clip); };
    seconds = time_runs(options.warmup, options.steps, step);
    step_flops = counted_flops(step);
  } else if (options.mode == "infer") {
    built.module->eval();
    NoGradGuard no_grad;
    AutocastGuard autocast(model.precision());
    auto step = [&] { built.module->forward(x); };
    seconds = time_runs(options.warmup, options.steps, step);
    step_flops = counted_flops(step);
  } else {
    auto* lm = dynamic_cast<models::LanguageModel*>(built.module.get());
    NABLA_CHECK(lm, "bench --mode generate: model.type \"", built.type, "\" is not a language model");
    built.module->eval();
    // `rows` prompts of real text, continued together (batch 1: the streaming path users run).
    const int64_t rows = options.batch > 0 ? options.batch : 1;
    NABLA_CHECK(options.prompt >= 1 && options.prompt <= x.shape()[1] && rows <= x.shape()[0],
                "bench --mode generate: ", "--prompt ", options.prompt, " and --batch ", rows,
                " must fit the data batch ", x.shape());
    std::vector<std::vector<int64_t>> prompts;
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<int64_t> row = x.select(0, r).contiguous().template to_vector<int64_t>();
      prompts.emplace_back(row.begin(), row.begin() + options.prompt);
    }
    Generator gen(1);
    const models::SamplingOptions sampling{.temperature = options.top_p > 0 ? 1.0 : 0.0,
                                           .top_p = options.top_p > 0 ? options.top_p : 1.0};
    seconds = time_runs(options.warmup, options.steps, [&] {
      if (rows == 1)
        models::generate(*lm, prompts[0], options.tokens, sampling, gen);
      else
        models::generate_batch(*lm, prompts, options.tokens, sampling, gen);
    });
    samples = rows;
    tokens = rows * options.tokens;
  }

  const double mid = median(seconds);
  io::json result = {{"name", name},
                     {"model", built.type},
                     {"mode", options.mode},
                     {"batch", options.mode == "generate" ? std::max<int64_t>(options.batch, 1) : batch},
                     {"threads", num_threads()},
                     {"precision", model.precision() == DType::bf16 ? "bf16" : "fp32"},
                     {"bf16_native", bf16_native()},
                     {"parameters", built.module->parameter_count()},
                     {"steps", options.steps},
                     {"median_s", mid},
                     {"min_s", seconds.front()},
                     {"max_s", seconds.back()},
                     {"samples_per_s", double(samples) / mid},
                     {"peak_rss_mb", peak_resident_mb()},
                     {"ranks", ranks}};
  if (const auto* lm = dynamic_cast<const models::LanguageModel*>(built.module.get()))
    result["vocab_size"] = lm->vocab_size();
  if (ddp)  // the all-reduce time backward's end waited for, per step (not hidden behind compute)
    result["comm_wait_s_per_step"] =
        ddp->wait_seconds() / double(options.warmup + options.steps + 1);  // + the FLOP-counting step
  if (tokens > 0) result["tokens_per_s"] = double(tokens) / mid;
  if (step_flops > 0) result["step_flops"] = step_flops;
  if (auto* gpt = dynamic_cast<models::GPT*>(built.module.get()); gpt && tokens_per_sample > 0) {
    // PaLM's count per trained token: 6 x parameters for the matmuls forward and backward, plus
    // attention's QK^T and AV over the sequence (12 x layers x width x length).
    const models::GPTConfig& g = gpt->config;
    result["train_flops_per_token"] =
        6.0 * double(built.module->parameter_count()) + 12.0 * double(g.n_layer * g.n_embd * tokens_per_sample);
  }
  return result;
}

}  // namespace nabla::runs
