// Micro-benchmarks of nabla's ops, named and counted exactly like bench/peers/torch_ops.py so
// bench/compare.py can print nabla/PyTorch ratios. Also raw oneDNN matmul and RNN primitives, the
// ceilings for ours.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "nabla/kernels/dnnl_context.h"
#include "nabla/nabla.h"
#include "rnn_dnnl_bench.h"

using namespace nabla;

namespace {

void set_rate(benchmark::State& state, const char* unit, double per_iteration) {
  state.counters[unit] = benchmark::Counter(per_iteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

const std::vector<std::array<int64_t, 3>> kMatmulShapes = {
    {128, 784, 256}, {32, 1024, 3072}, {4096, 384, 1536}, {4096, 1536, 384}, {1024, 1024, 1024}};

std::string shape_name(const std::array<int64_t, 3>& s) {
  return std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(s[2]);
}

void matmul_bench(benchmark::State& state, std::array<int64_t, 3> s, DType dtype) {
  Tensor a = randn({s[0], s[1]}).to(dtype), b = randn({s[1], s[2]}).to(dtype);
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  set_rate(state, "GFLOP/s", 2.0 * s[0] * s[1] * s[2]);
}

// nabla's matmul against oneDNN called directly with a cached primitive, call by call in the same
// loop so the host's drifting speed hits both alike. Reports "x": nabla's speed over raw oneDNN's
// (target: at least 0.95).
void matmul_over_raw_dnnl(benchmark::State& state, std::array<int64_t, 3> s) {
  using dnnl::memory;
  using clock = std::chrono::steady_clock;
  auto& engine = kernels::dnnl_engine();
  memory::desc ad({s[0], s[1]}, memory::data_type::f32, memory::format_tag::ab),
      bd({s[1], s[2]}, memory::data_type::f32, memory::format_tag::ab),
      cd({s[0], s[2]}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::matmul prim(dnnl::matmul::primitive_desc(dnnl::matmul::desc(ad, bd, cd), engine));
  Tensor a = randn({s[0], s[1]}), b = randn({s[1], s[2]}), c = zeros({s[0], s[2]});
  memory am(ad, engine, a.raw_data()), bm(bd, engine, b.raw_data()), cm(cd, engine, c.raw_data());
  double nabla_seconds = 0, raw_seconds = 0;
  for (auto _ : state) {
    auto t0 = clock::now();
    benchmark::DoNotOptimize(matmul(a, b));
    auto t1 = clock::now();
    prim.execute(kernels::dnnl_stream(), {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    kernels::dnnl_stream().wait();
    auto t2 = clock::now();
    nabla_seconds += std::chrono::duration<double>(t1 - t0).count();
    raw_seconds += std::chrono::duration<double>(t2 - t1).count();
  }
  state.counters["x"] = raw_seconds / nabla_seconds;
}

void conv_bench(benchmark::State& state, int64_t n, int64_t c, int64_t hw, int64_t o, bool input_grad) {
  Tensor x = randn({n, c, hw, hw}), w = mul(randn({o, c, 3, 3}), 0.1).requires_grad_(), b = zeros({o}).requires_grad_();
  if (input_grad) x.requires_grad_();
  for (auto _ : state) {
    Tensor y = conv2d(x, w, b);
    y.backward(ones(y.shape()));
    w.set_grad(Tensor());
    b.set_grad(Tensor());
    if (input_grad) x.set_grad(Tensor());
  }
  const double forward = 2.0 * n * o * (hw - 2) * (hw - 2) * c * 9;
  set_rate(state, "GFLOP/s", (input_grad ? 3 : 2) * forward);
}

void rowwise_bench(benchmark::State& state, const std::function<Tensor(const Tensor&)>& op) {
  Tensor x = randn({4096, 1536});
  for (auto _ : state) benchmark::DoNotOptimize(op(x));
  set_rate(state, "GB/s", 2.0 * 4 * x.numel());
}

// Fashion-MNIST's training images as one tensor: the mean of all, and per pixel over the images.
void mean_bench(benchmark::State& state, bool per_column) {
  Tensor x = rand({60000, 784});
  for (auto _ : state) benchmark::DoNotOptimize(per_column ? mean(x, {0}) : mean(x));
  set_rate(state, "GB/s", 4.0 * x.numel());
}

void add_bench(benchmark::State& state) {
  Tensor a = randn({4096, 1536}), b = randn({4096, 1536});
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b));
  set_rate(state, "GB/s", 3.0 * 4 * a.numel());
}

void attention_bench(benchmark::State& state) {
  const int64_t B = 8, H = 6, T = 256, D = 64;
  Tensor q = randn({B, H, T, D}).requires_grad_(), k = randn({B, H, T, D}).requires_grad_(),
         v = randn({B, H, T, D}).requires_grad_();
  Tensor g = ones({B, H, T, D});
  for (auto _ : state) {
    Tensor y = scaled_dot_product_attention(q, k, v, Tensor(), true);
    y.backward(g);
    q.set_grad(Tensor());
    k.set_grad(Tensor());
    v.set_grad(Tensor());
  }
  // Convention shared with the PyTorch twin: full T^2 (no causal halving), backward = 2.5x forward.
  set_rate(state, "GFLOP/s", 4.0 * B * H * T * T * D * 3.5);
}

// The GRU/LSTM 256 -> 1024 over 28 steps, the lstm_text model's 128 -> 128 over 100, and
// the char GRU's second layer, 512 -> 512 over 128.
const std::vector<RecurrentBenchShape> kRecurrentShapes = {
    {28, 64, 256, 1024}, {100, 32, 128, 128}, {128, 32, 512, 512}};

// One training step of a batch-first, single-layer LSTM/GRU: all outputs, backward from a random
// upstream gradient into the weights and the input.
void recurrent_bench(benchmark::State& state, kernels::RecurrentCell cell, RecurrentBenchShape s) {
  nn::RecurrentOptions options;
  options.batch_first = true;
  std::unique_ptr<nn::RecurrentBase> layer;
  if (cell == kernels::RecurrentCell::lstm)
    layer = std::make_unique<nn::LSTM>(s.input, s.hidden, options);
  else
    layer = std::make_unique<nn::GRU>(s.input, s.hidden, options);
  Tensor x = randn({s.batch, s.steps, s.input}).requires_grad_(), g = randn({s.batch, s.steps, s.hidden});
  for (auto _ : state) {
    Tensor y = layer->forward(x, Tensor()).output;
    y.backward(g);
    layer->zero_grad();
    x.set_grad(Tensor());
  }
  set_rate(state, "GFLOP/s", s.training_flops(cell));
}

// One AdamW step over 10M parameters; bytes = param, grad, exp_avg, exp_avg_sq read + three written.
void adamw_bench(benchmark::State& state) {
  const int64_t n = 10'000'000;
  Tensor param = randn({n}).requires_grad_();
  param.set_grad(randn({n}));
  optim::AdamW optimizer({param});
  optimizer.step();  // the first step allocates the moment buffers (PyTorch's warm-up call does too)
  for (auto _ : state) optimizer.step();
  set_rate(state, "GB/s", 7.0 * 4 * n);
}

void overhead_bench(benchmark::State& state) {
  Tensor a = ones({1}), b = ones({1});
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b));
}

std::string cell_prefix(kernels::RecurrentCell cell) { return cell == kernels::RecurrentCell::lstm ? "lstm" : "gru"; }

void register_all() {
  for (auto& s : kMatmulShapes)
    benchmark::RegisterBenchmark(("matmul_f32/" + shape_name(s)).c_str(), matmul_bench, s, DType::f32)->UseRealTime();
  for (auto& s : kMatmulShapes)
    benchmark::RegisterBenchmark(("matmul_bf16/" + shape_name(s)).c_str(), matmul_bench, s, DType::bf16)->UseRealTime();
  benchmark::RegisterBenchmark("conv2d_fwd_bwd/32x1x28x28_k32", conv_bench, 32, 1, 28, 32, false)->UseRealTime();
  benchmark::RegisterBenchmark("conv2d_fwd_bwd/32x32x13x13_k64", conv_bench, 32, 32, 13, 64, true)->UseRealTime();
  benchmark::RegisterBenchmark("softmax/4096x1536", rowwise_bench, [](const Tensor& x) {
    return softmax(x, -1);
  })->UseRealTime();
  static Tensor ln_w = ones({1536}), ln_b = zeros({1536});
  benchmark::RegisterBenchmark("layer_norm/4096x1536", rowwise_bench, [](const Tensor& x) {
    return layer_norm(x, {1536}, ln_w, ln_b);
  })->UseRealTime();
  benchmark::RegisterBenchmark("gelu/4096x1536", rowwise_bench, [](const Tensor& x) { return gelu(x); })->UseRealTime();
  benchmark::RegisterBenchmark("add/4096x1536", add_bench)->UseRealTime();
  benchmark::RegisterBenchmark("mean_all/60000x784", mean_bench, false)->UseRealTime();
  benchmark::RegisterBenchmark("mean_dim0/60000x784", mean_bench, true)->UseRealTime();
  benchmark::RegisterBenchmark("attention_fwd_bwd/B8_H6_T256_D64", attention_bench)->UseRealTime();
  for (auto cell : {kernels::RecurrentCell::lstm, kernels::RecurrentCell::gru})
    for (auto& s : kRecurrentShapes)
      benchmark::RegisterBenchmark((cell_prefix(cell) + "_fwd_bwd/" + s.name()).c_str(), recurrent_bench, cell, s)
          ->UseRealTime();
  benchmark::RegisterBenchmark("adamw_step/10M", adamw_bench)->UseRealTime();
  benchmark::RegisterBenchmark("overhead/add_1elem", overhead_bench)->UseRealTime();
  for (auto& s : kMatmulShapes)
    benchmark::RegisterBenchmark(("matmul_f32_over_dnnl_raw/" + shape_name(s)).c_str(), matmul_over_raw_dnnl, s)
        ->UseRealTime();
  for (auto cell : {kernels::RecurrentCell::lstm, kernels::RecurrentCell::gru})
    for (auto& s : kRecurrentShapes)
      benchmark::RegisterBenchmark((cell_prefix(cell) + "_dnnl_raw/" + s.name()).c_str(), raw_dnnl_recurrent, cell, s)
          ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
