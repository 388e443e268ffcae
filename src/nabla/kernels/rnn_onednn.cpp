#include "nabla/kernels/rnn_onednn.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "nabla/core/error.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/dnnl_context.h"

namespace nabla::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

std::atomic<RecurrentBackend> g_backend{RecurrentBackend::automatic};

// oneDNN's GRU gates are u, r, o (update, reset, candidate) where PyTorch's are r, z, n; its LSTM
// gates i, f, c~, o are PyTorch's i, f, g, o. oneDNN block b is PyTorch block kGruOrder[b]; the
// permutation is its own inverse, so the same copy maps gradients back.
constexpr int64_t kGruOrder[3] = {1, 0, 2};

int64_t gates(const OnednnRecurrentShape& s) { return s.cell == RecurrentCell::lstm ? 4 : 3; }
bool is_lstm(const OnednnRecurrentShape& s) { return s.cell == RecurrentCell::lstm; }

// [G*H, cols] gate blocks from one gate order to the other (GRU only; LSTM's orders agree).
void swap_gru_gates(const float* from, float* to, int64_t hidden, int64_t cols) {
  const int64_t block = hidden * cols;
  for (int64_t b = 0; b < 3; ++b) std::memcpy(to + b * block, from + kGruOrder[b] * block, block * sizeof(float));
}

struct ShapeHash {
  size_t operator()(const OnednnRecurrentShape& s) const {
    size_t h = size_t(s.cell) * 31 + size_t(s.reverse);
    for (int64_t v : {s.steps, s.batch, s.input, s.hidden}) h = (h ^ size_t(v)) * 1099511628211ULL;
    return h;
  }
};

// The user-side descriptors: time-major sequences, [1, 1, B, H] states, ldgoi weights (PyTorch's
// [G*H, K] row-major), and the bias with lbr_gru's extra fourth block.
struct Layouts {
  memory::desc src, dst, state, bias, weights_layer, weights_iter, any_layer, any_iter;
  explicit Layouts(const OnednnRecurrentShape& s) {
    const int64_t g = gates(s);
    src = memory::desc({s.steps, s.batch, s.input}, kF32, tag::tnc);
    dst = memory::desc({s.steps, s.batch, s.hidden}, kF32, tag::tnc);
    state = memory::desc({1, 1, s.batch, s.hidden}, kF32, tag::ldnc);
    bias = memory::desc({1, 1, is_lstm(s) ? g : g + 1, s.hidden}, kF32, tag::ldgo);
    weights_layer = memory::desc({1, 1, s.input, g, s.hidden}, kF32, tag::ldgoi);
    weights_iter = memory::desc({1, 1, s.hidden, g, s.hidden}, kF32, tag::ldgoi);
    any_layer = memory::desc({1, 1, s.input, g, s.hidden}, kF32, tag::any);
    any_iter = memory::desc({1, 1, s.hidden, g, s.hidden}, kF32, tag::any);
  }
};

struct Pass {
  dnnl::primitive primitive;
  memory::desc weights_layer, weights_iter, workspace, diff_weights_layer, diff_weights_iter;
};

struct Primitives {
  bool has_inference = false, has_training = false;
  Pass inference, training, backward;
};

dnnl::rnn_direction direction(const OnednnRecurrentShape& s) {
  return s.reverse ? dnnl::rnn_direction::unidirectional_right2left : dnnl::rnn_direction::unidirectional_left2right;
}

template <class ForwardPd>
Pass forward_pass(const ForwardPd& pd, dnnl::primitive primitive) {
  return {primitive, pd.weights_layer_desc(), pd.weights_iter_desc(), pd.workspace_desc(), {}, {}};
}

template <class BackwardPd>
Pass backward_pass(const BackwardPd& pd, dnnl::primitive primitive) {
  return {primitive, pd.weights_layer_desc(),      pd.weights_iter_desc(),
          {},        pd.diff_weights_layer_desc(), pd.diff_weights_iter_desc()};
}

dnnl::lstm_forward::desc lstm_forward_desc(dnnl::prop_kind prop, const OnednnRecurrentShape& s, const Layouts& l) {
  return dnnl::lstm_forward::desc(prop, direction(s), l.src, l.state, l.state, l.any_layer, l.any_iter, l.bias, l.dst,
                                  l.state, l.state);
}
dnnl::lbr_gru_forward::desc gru_forward_desc(dnnl::prop_kind prop, const OnednnRecurrentShape& s, const Layouts& l) {
  return dnnl::lbr_gru_forward::desc(prop, direction(s), l.src, l.state, l.any_layer, l.any_iter, l.bias, l.dst,
                                     l.state);
}

void build_inference(const OnednnRecurrentShape& s, Primitives& p) {
  const Layouts l(s);
  const auto prop = dnnl::prop_kind::forward_inference;
  if (is_lstm(s)) {
    dnnl::lstm_forward::primitive_desc pd(lstm_forward_desc(prop, s, l), dnnl_engine());
    p.inference = forward_pass(pd, dnnl::lstm_forward(pd));
  } else {
    dnnl::lbr_gru_forward::primitive_desc pd(gru_forward_desc(prop, s, l), dnnl_engine());
    p.inference = forward_pass(pd, dnnl::lbr_gru_forward(pd));
  }
  p.has_inference = true;
}

void build_training(const OnednnRecurrentShape& s, Primitives& p) {
  const Layouts l(s);
  const auto train = dnnl::prop_kind::forward_training, back = dnnl::prop_kind::backward;
  auto& engine = dnnl_engine();
  if (is_lstm(s)) {
    dnnl::lstm_forward::primitive_desc fpd(lstm_forward_desc(train, s, l), engine);
    dnnl::lstm_backward::primitive_desc bpd(
        dnnl::lstm_backward::desc(back, direction(s), l.src, l.state, l.state, l.any_layer, l.any_iter, l.bias, l.dst,
                                  l.state, l.state, l.src, l.state, l.state, l.any_layer, l.any_iter, l.bias, l.dst,
                                  l.state, l.state),
        engine, fpd);
    p.training = forward_pass(fpd, dnnl::lstm_forward(fpd));
    p.backward = backward_pass(bpd, dnnl::lstm_backward(bpd));
  } else {
    dnnl::lbr_gru_forward::primitive_desc fpd(gru_forward_desc(train, s, l), engine);
    dnnl::lbr_gru_backward::primitive_desc bpd(
        dnnl::lbr_gru_backward::desc(back, direction(s), l.src, l.state, l.any_layer, l.any_iter, l.bias, l.dst,
                                     l.state, l.src, l.state, l.any_layer, l.any_iter, l.bias, l.dst, l.state),
        engine, fpd);
    p.training = forward_pass(fpd, dnnl::lbr_gru_forward(fpd));
    p.backward = backward_pass(bpd, dnnl::lbr_gru_backward(bpd));
  }
  p.has_training = true;
}

std::mutex g_mutex;
Primitives& primitives(const OnednnRecurrentShape& s, bool training) {
  NABLA_CHECK(s.cell == RecurrentCell::lstm || s.cell == RecurrentCell::gru,
              "oneDNN recurrent primitive: only LSTM and GRU run on oneDNN, got ", recurrent_cell_name(s.cell));
  static auto* cache = new std::unordered_map<OnednnRecurrentShape, Primitives, ShapeHash>();
  std::lock_guard lock(g_mutex);
  Primitives& p = (*cache)[s];
  if (training && !p.has_training) build_training(s, p);
  if (!training && !p.has_inference) build_inference(s, p);
  return p;
}

// Weights and bias in oneDNN's gate order and the pass's layouts, valid for one call.
struct PreparedWeights {
  memory layer, iter, bias;
};
PreparedWeights prepare_weights(const OnednnRecurrentShape& s, const RecurrentWeightPointers& w, const Pass& pass,
                                LayoutCopies& copies) {
  const Layouts l(s);
  const int64_t g = gates(s), H = s.hidden;
  const float *w_ih = w.w_ih, *w_hh = w.w_hh;
  if (!is_lstm(s)) {  // swapped copies that live as long as `copies` (they may be used as they are)
    memory swapped_ih = copies.make(l.weights_layer), swapped_hh = copies.make(l.weights_iter);
    swap_gru_gates(w.w_ih, static_cast<float*>(swapped_ih.get_data_handle()), H, s.input);
    swap_gru_gates(w.w_hh, static_cast<float*>(swapped_hh.get_data_handle()), H, H);
    w_ih = static_cast<const float*>(swapped_ih.get_data_handle());
    w_hh = static_cast<const float*>(swapped_hh.get_data_handle());
  }
  PreparedWeights result{copies.input(l.weights_layer, pass.weights_layer, w_ih),
                         copies.input(l.weights_iter, pass.weights_iter, w_hh), copies.make(l.bias)};
  // LSTM: one bias per gate, b_ih + b_hh. lbr_gru: u and r take b_ih + b_hh, o takes b_in, and a
  // fourth block b_hn stays inside r * (W_hn h + b_hn).
  float* bias = static_cast<float*>(result.bias.get_data_handle());
  const int64_t blocks = is_lstm(s) ? g : g + 1;
  std::fill(bias, bias + blocks * H, 0.0f);
  if (w.b_ih) {
    for (int64_t b = 0; b < g; ++b) {
      const int64_t from = (is_lstm(s) ? b : kGruOrder[b]) * H;
      const bool both = is_lstm(s) || b < 2;
      for (int64_t j = 0; j < H; ++j) bias[b * H + j] = w.b_ih[from + j] + (both ? w.b_hh[from + j] : 0.0f);
    }
    if (!is_lstm(s)) std::copy_n(w.b_hh + 2 * H, H, bias + 3 * H);
  }
  // The weight copies must be complete before the caller's primitive reads them.
  dnnl_stream().wait();
  return result;
}

// A weight gradient from the primitive's layout back to PyTorch's [G*H, K] and gate order.
void weight_gradient_to_user(const OnednnRecurrentShape& s, memory& diff, const memory::desc& user_layout, int64_t k,
                             float* out) {
  const int64_t g = gates(s), H = s.hidden;
  std::vector<float> ldgoi;
  float* target = out;
  if (!is_lstm(s)) {
    ldgoi.resize(size_t(g * H * k));
    target = ldgoi.data();
  }
  memory user(user_layout, dnnl_engine(), target);
  if (diff.get_desc() == user_layout)
    std::memcpy(target, diff.get_data_handle(), user_layout.get_size());
  else
    dnnl::reorder(diff, user).execute(dnnl_stream(), diff, user);
  dnnl_stream().wait();
  if (!is_lstm(s)) swap_gru_gates(ldgoi.data(), out, H, k);
}

// The arguments forward and backward share: the layer's inputs, weights and results.
std::unordered_map<int, memory> sequence_args(const OnednnRecurrentShape& s, const Layouts& l, const PreparedWeights& w,
                                              const float* x, const float* h0, const float* c0, const float* out,
                                              const float* h_n, const float* c_n) {
  auto& engine = dnnl_engine();
  auto wrap = [&](const memory::desc& d, const float* data) { return memory(d, engine, const_cast<float*>(data)); };
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC_LAYER, wrap(l.src, x)},
      {DNNL_ARG_SRC_ITER, wrap(l.state, h0)},
      {DNNL_ARG_WEIGHTS_LAYER, w.layer},
      {DNNL_ARG_WEIGHTS_ITER, w.iter},
      {DNNL_ARG_BIAS, w.bias},
      {DNNL_ARG_DST_LAYER, wrap(l.dst, out)},
      {DNNL_ARG_DST_ITER, wrap(l.state, h_n)},
  };
  if (is_lstm(s)) {
    args[DNNL_ARG_SRC_ITER_C] = wrap(l.state, c0);
    args[DNNL_ARG_DST_ITER_C] = wrap(l.state, c_n);
  }
  return args;
}

}  // namespace

void set_recurrent_backend(RecurrentBackend backend) { g_backend = backend; }
RecurrentBackend recurrent_backend() { return g_backend; }

bool recurrent_uses_onednn(const OnednnRecurrentShape& s) {
  if (s.cell != RecurrentCell::lstm && s.cell != RecurrentCell::gru) return false;
  switch (recurrent_backend()) {
    case RecurrentBackend::fused: return false;
    case RecurrentBackend::onednn: return true;
    case RecurrentBackend::automatic: break;
  }
  // Since the fused kernel packs W_hh and gives each thread its own rows of the batch (up to a
  // 16 MB weight), it is level with or ahead of oneDNN's primitive below H = 1024: whole training
  // steps of the char LSTM (B64 T100), 2 threads, interleaved rounds: 1.06x at H = 256, 1.10x at
  // 512 (1.02x at one thread). At 1024, with the four-panel step GEMM, the two backends
  // alternating in one process (forward and backward of one layer): GRU 1024 fused 5-8% faster
  // (gru_lm's T28 B64, and T50 B32), LSTM 1024 T28 B64 oneDNN 6-7% faster.
  return s.cell == RecurrentCell::gru ? s.hidden > 1024 : s.hidden >= 1024;
}

namespace {
// The GEMM work of one pass over the sequence: [x_t, h_t-1] times the stacked gate weights.
double sequence_flops(const OnednnRecurrentShape& s) {
  return 2.0 * double(s.steps * s.batch) * double(s.input + s.hidden) * double(gates(s) * s.hidden);
}
}  // namespace

size_t onednn_recurrent_workspace_bytes(const OnednnRecurrentShape& s) {
  return primitives(s, true).training.workspace.get_size();
}

void onednn_recurrent_forward(const OnednnRecurrentShape& s, const float* x, const float* h0, const float* c0,
                              const RecurrentWeightPointers& w, float* out, float* c_n, void* workspace) {
  const bool training = workspace != nullptr;
  Primitives& p = primitives(s, training);
  const Pass& pass = training ? p.training : p.inference;
  const Layouts l(s);
  auto& engine = dnnl_engine();
  LayoutCopies copies;
  PreparedWeights prepared = prepare_weights(s, w, pass, copies);
  memory h_n = copies.make(l.state);  // also out's last visited step; oneDNN wants its own copy
  std::unordered_map<int, memory> args =
      sequence_args(s, l, prepared, x, h0, c0, out, static_cast<const float*>(h_n.get_data_handle()), c_n);
  if (training) args[DNNL_ARG_WORKSPACE] = memory(pass.workspace, engine, workspace);
  pass.primitive.execute(dnnl_stream(), args);
  dnnl_stream().wait();
  profiler::add_flops(sequence_flops(s));
}

void onednn_recurrent_backward(const OnednnRecurrentShape& s, const float* x, const float* h0, const float* c0,
                               const RecurrentWeightPointers& w, const float* out, const float* c_n,
                               const void* workspace, const float* d_out, const float* d_c_n,
                               const RecurrentGradientPointers& g) {
  Primitives& p = primitives(s, true);
  const Pass& pass = p.backward;
  const Layouts l(s);
  auto& engine = dnnl_engine();
  LayoutCopies copies;
  PreparedWeights prepared = prepare_weights(s, w, pass, copies);
  // oneDNN 2.6's RNN backward adds into the weight and bias gradients: start them at zero.
  memory diff_layer = copies.make(pass.diff_weights_layer), diff_iter = copies.make(pass.diff_weights_iter);
  memory diff_bias = copies.make(l.bias), zero_state = copies.make(l.state);
  for (memory* m : {&diff_layer, &diff_iter, &diff_bias, &zero_state})
    std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
  const int64_t last = s.reverse ? 0 : s.steps - 1;
  const float* h_n = out + last * s.batch * s.hidden;
  std::unordered_map<int, memory> args = sequence_args(s, l, prepared, x, h0, c0, out, h_n, c_n);
  auto wrap = [&](const memory::desc& d, void* data) { return memory(d, engine, data); };
  args[DNNL_ARG_WORKSPACE] = memory(p.training.workspace, engine, const_cast<void*>(workspace));
  args[DNNL_ARG_DIFF_SRC_LAYER] = wrap(l.src, g.dx);
  args[DNNL_ARG_DIFF_SRC_ITER] = wrap(l.state, g.dh0);
  args[DNNL_ARG_DIFF_WEIGHTS_LAYER] = diff_layer;
  args[DNNL_ARG_DIFF_WEIGHTS_ITER] = diff_iter;
  args[DNNL_ARG_DIFF_BIAS] = diff_bias;
  args[DNNL_ARG_DIFF_DST_LAYER] = wrap(l.dst, const_cast<float*>(d_out));
  args[DNNL_ARG_DIFF_DST_ITER] = zero_state;  // h_n's gradient arrives inside d_out
  if (is_lstm(s)) {
    args[DNNL_ARG_DIFF_SRC_ITER_C] = wrap(l.state, g.dc0);
    args[DNNL_ARG_DIFF_DST_ITER_C] = d_c_n ? wrap(l.state, const_cast<float*>(d_c_n)) : zero_state;
  }
  pass.primitive.execute(dnnl_stream(), args);
  dnnl_stream().wait();
  profiler::add_flops(2 * sequence_flops(s));  // the input and state gradients, and the weights'

  if (g.dw_ih) weight_gradient_to_user(s, diff_layer, l.weights_layer, s.input, g.dw_ih);
  if (g.dw_hh) weight_gradient_to_user(s, diff_iter, l.weights_iter, s.hidden, g.dw_hh);
  // Every gate's bias gradient is b_ih's (the sum b_ih + b_hh feeds it); lbr_gru's n gate splits
  // into b_in (block o) and b_hn (the fourth block).
  const float* d_bias = static_cast<const float*>(diff_bias.get_data_handle());
  const int64_t H = s.hidden;
  for (int64_t b = 0; b < gates(s); ++b) {
    const int64_t to = (is_lstm(s) ? b : kGruOrder[b]) * H;
    if (g.db_ih) std::copy_n(d_bias + b * H, H, g.db_ih + to);
    if (g.db_hh) std::copy_n(d_bias + (!is_lstm(s) && b == 2 ? 3 : b) * H, H, g.db_hh + to);
  }
}

}  // namespace nabla::kernels
