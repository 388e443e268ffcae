// oneDNN's own RNN primitives (LSTM, linear-before-reset GRU) called directly for one training step,
// forward_training + backward with primitives and weight reorders done once: what nabla's fused
// recurrent kernels are measured against. Each shape is first checked against the fused kernels.
#include "rnn_dnnl_bench.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>
#include <unordered_map>

#include "nabla/kernels/dnnl_context.h"
#include "nabla/kernels/rnn_onednn.h"
#include "nabla/nabla.h"

using namespace nabla;
using dnnl::memory;
using tag = memory::format_tag;

namespace {

constexpr auto kF32 = memory::data_type::f32;

// oneDNN's GRU gates are u, r, o (update, reset, candidate) where PyTorch's are r, z, n; its LSTM
// gates i, f, c~, o are PyTorch's i, f, g, o. Block b of oneDNN's order is block kGruOrder[b] of
// PyTorch's; the permutation is its own inverse, so it maps gradients back too.
constexpr int64_t kGruOrder[3] = {1, 0, 2};

// rows [G*H, cols] with gate blocks in PyTorch's order -> the same in oneDNN's order.
std::vector<float> gates_to_dnnl(const Tensor& t, bool gru, int64_t hidden) {
  Tensor c = t.contiguous();
  const int64_t gates = t.shape()[0] / hidden, block = c.numel() / gates;
  std::vector<float> out(c.numel());
  for (int64_t b = 0; b < gates; ++b)
    std::memcpy(out.data() + b * block, c.data<float>() + (gru ? kGruOrder[b] : b) * block, block * sizeof(float));
  return out;
}

memory user_memory(const memory::dims& dims, tag format, void* data) {
  return memory(memory::desc(dims, kF32, format), kernels::dnnl_engine(), data);
}

// A copy of `src` in the layout `desc` asks for (the primitive's chosen weight format).
memory reordered(const memory& src, const memory::desc& desc) {
  memory dst(desc, kernels::dnnl_engine());
  dnnl::reorder(src, dst).execute(kernels::dnnl_stream(), const_cast<memory&>(src), dst);
  kernels::dnnl_stream().wait();
  return dst;
}

// One layer, one direction, batch-first input [B, T, I] and output [B, T, H] (oneDNN's ntc), zero
// initial state, bias always on. Weights are a copy of `module`'s.
struct RawRecurrent {
  bool lstm;
  RecurrentBenchShape s;
  std::vector<float> w_layer, w_iter, bias;  // user layouts: ldgoi (PyTorch's [G*H, K]), ldgo
  Tensor dst, diff_src;                      // [B, T, H], [B, T, I]
  memory diff_w_layer, diff_w_iter, diff_bias;
  dnnl::primitive forward, backward;
  std::unordered_map<int, memory> forward_args, backward_args;

  RawRecurrent(const nn::RecurrentBase& module, const Tensor& x, const Tensor& d_out, RecurrentBenchShape shape)
      : lstm(module.cell == kernels::RecurrentCell::lstm), s(shape) {
    const int64_t T = s.steps, B = s.batch, I = s.input, H = s.hidden, G = lstm ? 4 : 3;
    const nn::RecurrentBase::Weights& w = module.weights(0);
    const bool gru = !lstm;
    w_layer = gates_to_dnnl(w.w_ih, gru, H);
    w_iter = gates_to_dnnl(w.w_hh, gru, H);
    // LSTM: one bias per gate, b_ih + b_hh. lbr_gru: u, r, o take b_ih + b_hh, b_ih and a fourth
    // block u' = b_hn, which stays inside r * (W_hn h + b_hn).
    std::vector<float> b_ih = gates_to_dnnl(w.b_ih, gru, H), b_hh = gates_to_dnnl(w.b_hh, gru, H);
    bias = b_ih;
    for (int64_t j = 0; j < (lstm ? G : 2) * H; ++j) bias[j] += b_hh[j];
    if (gru) bias.insert(bias.end(), b_hh.begin() + 2 * H, b_hh.end());

    dst = Tensor::empty({B, T, H});
    diff_src = Tensor::empty({B, T, I});
    const memory::desc none;  // a zero desc: zero initial states, final states not wanted
    const memory::desc src_md({T, B, I}, kF32, tag::ntc), dst_md({T, B, H}, kF32, tag::ntc);
    const memory::desc any_layer({1, 1, I, G, H}, kF32, tag::any), any_iter({1, 1, H, G, H}, kF32, tag::any);
    const memory::desc bias_md({1, 1, lstm ? G : G + 1, H}, kF32, tag::ldgo);
    const auto train = dnnl::prop_kind::forward_training, back = dnnl::prop_kind::backward;
    const auto dir = dnnl::rnn_direction::unidirectional_left2right;
    auto& engine = kernels::dnnl_engine();

    memory::desc fwd_layer, fwd_iter, bwd_layer, bwd_iter, ws_md;
    if (lstm) {
      dnnl::lstm_forward::primitive_desc fpd(
          dnnl::lstm_forward::desc(train, dir, src_md, none, none, any_layer, any_iter, bias_md, dst_md, none, none),
          engine);
      dnnl::lstm_backward::primitive_desc bpd(
          dnnl::lstm_backward::desc(back, dir, src_md, none, none, any_layer, any_iter, bias_md, dst_md, none, none,
                                    src_md, none, none, any_layer, any_iter, bias_md, dst_md, none, none),
          engine, fpd);
      forward = dnnl::lstm_forward(fpd);
      backward = dnnl::lstm_backward(bpd);
      fwd_layer = fpd.weights_layer_desc(), fwd_iter = fpd.weights_iter_desc(), ws_md = fpd.workspace_desc();
      bwd_layer = bpd.weights_layer_desc(), bwd_iter = bpd.weights_iter_desc();
      diff_w_layer = memory(bpd.diff_weights_layer_desc(), engine);
      diff_w_iter = memory(bpd.diff_weights_iter_desc(), engine);
    } else {
      dnnl::lbr_gru_forward::primitive_desc fpd(
          dnnl::lbr_gru_forward::desc(train, dir, src_md, none, any_layer, any_iter, bias_md, dst_md, none), engine);
      dnnl::lbr_gru_backward::primitive_desc bpd(
          dnnl::lbr_gru_backward::desc(back, dir, src_md, none, any_layer, any_iter, bias_md, dst_md, none, src_md,
                                       none, any_layer, any_iter, bias_md, dst_md, none),
          engine, fpd);
      forward = dnnl::lbr_gru_forward(fpd);
      backward = dnnl::lbr_gru_backward(bpd);
      fwd_layer = fpd.weights_layer_desc(), fwd_iter = fpd.weights_iter_desc(), ws_md = fpd.workspace_desc();
      bwd_layer = bpd.weights_layer_desc(), bwd_iter = bpd.weights_iter_desc();
      diff_w_layer = memory(bpd.diff_weights_layer_desc(), engine);
      diff_w_iter = memory(bpd.diff_weights_iter_desc(), engine);
    }
    diff_bias = memory(bias_md, engine);

    // Weights reordered once, as a user caching primitives would (in training they would have to
    // be reordered again after every optimizer step; that cost is not in the timed loop).
    memory user_layer = user_memory({1, 1, I, G, H}, tag::ldgoi, w_layer.data());
    memory user_iter = user_memory({1, 1, H, G, H}, tag::ldgoi, w_iter.data());
    memory bias_mem(bias_md, engine, bias.data());
    memory src(src_md, engine, x.raw_data()), dst_mem(dst_md, engine, dst.raw_data());
    memory diff_dst(dst_md, engine, d_out.raw_data()), diff_src_mem(src_md, engine, diff_src.raw_data());
    memory workspace(ws_md, engine);
    forward_args = {{DNNL_ARG_SRC_LAYER, src},
                    {DNNL_ARG_WEIGHTS_LAYER, reordered(user_layer, fwd_layer)},
                    {DNNL_ARG_WEIGHTS_ITER, reordered(user_iter, fwd_iter)},
                    {DNNL_ARG_BIAS, bias_mem},
                    {DNNL_ARG_DST_LAYER, dst_mem},
                    {DNNL_ARG_WORKSPACE, workspace}};
    backward_args = {{DNNL_ARG_SRC_LAYER, src},
                     {DNNL_ARG_WEIGHTS_LAYER, reordered(user_layer, bwd_layer)},
                     {DNNL_ARG_WEIGHTS_ITER, reordered(user_iter, bwd_iter)},
                     {DNNL_ARG_BIAS, bias_mem},
                     {DNNL_ARG_DST_LAYER, dst_mem},
                     {DNNL_ARG_DIFF_DST_LAYER, diff_dst},
                     {DNNL_ARG_WORKSPACE, workspace},
                     {DNNL_ARG_DIFF_SRC_LAYER, diff_src_mem},
                     {DNNL_ARG_DIFF_WEIGHTS_LAYER, diff_w_layer},
                     {DNNL_ARG_DIFF_WEIGHTS_ITER, diff_w_iter},
                     {DNNL_ARG_DIFF_BIAS, diff_bias}};
  }

  // One training step: oneDNN 2.6's RNN backward adds into the weight gradients (there is no
  // overwrite flag yet), so they are zeroed first, as zero_grad would.
  void step() {
    for (memory* m : {&diff_w_layer, &diff_w_iter, &diff_bias})
      std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
    forward.execute(kernels::dnnl_stream(), forward_args);
    backward.execute(kernels::dnnl_stream(), backward_args);
    kernels::dnnl_stream().wait();
  }

  // A weight gradient in PyTorch's layout and gate order, [G*H, K] flattened.
  std::vector<float> weight_gradient(const memory& diff, int64_t k) const {
    const int64_t G = lstm ? 4 : 3, H = s.hidden;
    std::vector<float> ldgoi(G * H * k), out(G * H * k);
    memory user = user_memory({1, 1, k, G, H}, tag::ldgoi, ldgoi.data());
    dnnl::reorder(diff, user).execute(kernels::dnnl_stream(), const_cast<memory&>(diff), user);
    kernels::dnnl_stream().wait();
    for (int64_t b = 0; b < G; ++b)
      std::copy_n(ldgoi.data() + b * H * k, H * k, out.data() + (lstm ? b : kGruOrder[b]) * H * k);
    return out;
  }
};

// Largest |a - b| relative to max(1, max |b|), so large gradients get a proportional tolerance.
double relative_error(const float* a, const float* b, int64_t n) {
  double diff = 0, scale = 1;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return diff / scale;
}

// Exits the benchmark binary when oneDNN's result is off; a raw row computing garbage proves nothing.
struct Agreement {
  std::string name;
  double worst = 0;
  void expect(const char* what, double error, double tolerance) {
    worst = std::max(worst, error);
    if (error <= tolerance) return;
    std::fprintf(stderr,
                 "%s: oneDNN's %s differs from nabla's by %.3g (tolerance %.1g); the raw primitive is set up "
                 "wrong (gate order, bias layout or weight format), so its timing would mean nothing\n",
                 name.c_str(), what, error, tolerance);
    std::exit(EXIT_FAILURE);
  }
};

// Runs nabla's layer and the raw primitive on the same weights and data once and compares the
// output and every gradient.
void check_against_nabla(const std::string& name, nn::RecurrentBase& module, RawRecurrent& raw, const Tensor& x,
                         const Tensor& d_out) {
  Tensor input = x.detach().requires_grad_();
  module.zero_grad();
  // Against the fused kernels: the layer would otherwise run on oneDNN itself at wide shapes.
  kernels::set_recurrent_backend(kernels::RecurrentBackend::fused);
  Tensor y = module.forward(input, Tensor()).output.contiguous();
  y.backward(d_out);
  kernels::set_recurrent_backend(kernels::RecurrentBackend::automatic);
  raw.step();
  const int64_t H = raw.s.hidden, G = raw.lstm ? 4 : 3;
  const nn::RecurrentBase::Weights& w = module.weights(0);
  Agreement check{name};
  constexpr double tolerance = 1e-4;
  check.expect("forward output", relative_error(raw.dst.data<float>(), y.data<float>(), y.numel()), tolerance);
  check.expect("input gradient", relative_error(raw.diff_src.data<float>(), input.grad().data<float>(), x.numel()),
               tolerance);
  std::vector<float> d_w_ih = raw.weight_gradient(raw.diff_w_layer, raw.s.input),
                     d_w_hh = raw.weight_gradient(raw.diff_w_iter, H);
  check.expect("weight_ih gradient", relative_error(d_w_ih.data(), w.w_ih.grad().data<float>(), w.w_ih.numel()),
               tolerance);
  check.expect("weight_hh gradient", relative_error(d_w_hh.data(), w.w_hh.grad().data<float>(), w.w_hh.numel()),
               tolerance);
  // Bias gradients: every oneDNN gate's is b_ih's (in its gate order); lbr_gru's u' is b_hn's.
  const float* diff_bias = static_cast<const float*>(raw.diff_bias.get_data_handle());
  std::vector<float> b_ih = gates_to_dnnl(w.b_ih.grad(), !raw.lstm, H),
                     b_hh = gates_to_dnnl(w.b_hh.grad(), !raw.lstm, H);
  check.expect("bias gradient", relative_error(diff_bias, b_ih.data(), G * H), tolerance);
  if (!raw.lstm) check.expect("b_hn gradient", relative_error(diff_bias + G * H, b_hh.data() + 2 * H, H), tolerance);
  std::fprintf(stderr, "%s: output and gradients match nabla's (largest relative difference %.2g)\n", name.c_str(),
               check.worst);
  module.zero_grad();
}

}  // namespace

void raw_dnnl_recurrent(benchmark::State& state, kernels::RecurrentCell cell, RecurrentBenchShape s) {
  nn::RecurrentOptions options;
  options.batch_first = true;
  const bool lstm = cell == kernels::RecurrentCell::lstm;
  std::unique_ptr<nn::RecurrentBase> module;
  if (lstm)
    module = std::make_unique<nn::LSTM>(s.input, s.hidden, options);
  else
    module = std::make_unique<nn::GRU>(s.input, s.hidden, options);
  Tensor x = randn({s.batch, s.steps, s.input}), d_out = randn({s.batch, s.steps, s.hidden});
  RawRecurrent raw(*module, x, d_out, s);
  const std::string name = std::string(lstm ? "lstm" : "gru") + "_dnnl_raw/" + s.name();
  static std::set<std::string> checked;  // Google Benchmark calls this once per repetition
  if (checked.insert(name).second) check_against_nabla(name, *module, raw, x, d_out);
  for (auto _ : state) raw.step();
  state.counters["GFLOP/s"] =
      benchmark::Counter(s.training_flops(cell) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
