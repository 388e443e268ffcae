// One LSTM or GRU layer and direction on oneDNN's RNN primitive, as one autograd node (the
// counterpart of recurrent_sequence for the shapes where oneDNN measures faster).
#include "nabla/autograd/node.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/rnn_onednn.h"
#include "nabla/ops/op_utils.h"
#include "nabla/ops/recurrent.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

Tensor packed(const Tensor& t) { return t.defined() ? t.contiguous() : t; }

}  // namespace

RecurrentSequence onednn_recurrent_sequence(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                            const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                                            const Tensor& b_hh, bool reverse) {
  const char* op = kernels::recurrent_cell_name(cell);
  NABLA_PROFILE_OP(op);
  const bool lstm = cell == RecurrentCell::lstm;
  NABLA_CHECK(lstm || cell == RecurrentCell::gru, op, ": only LSTM and GRU run on oneDNN's primitives");
  for (const Tensor* t : {&x, &h0, &w_ih, &w_hh}) detail::check_f32(*t, op);
  const int64_t gates = kernels::recurrent_gate_count(cell);
  NABLA_CHECK(x.dim() == 3 && x.shape()[0] > 0, op, ": input must be a non-empty [steps, batch, features], got ",
              x.shape());
  const int64_t steps = x.shape()[0], batch = x.shape()[1], input = x.shape()[2], hidden = w_hh.shape()[1];
  NABLA_CHECK(w_ih.shape() == Shape({gates * hidden, input}) && w_hh.shape() == Shape({gates * hidden, hidden}), op,
              ": weights must be [", gates, " * hidden, input] and [", gates, " * hidden, hidden], got ", w_ih.shape(),
              " and ", w_hh.shape(), " for input ", x.shape());
  NABLA_CHECK(h0.shape() == Shape({batch, hidden}) && (!lstm || c0.shape() == Shape({batch, hidden})), op,
              ": initial states must be [batch, hidden] = [", batch, ", ", hidden, "]");
  NABLA_CHECK(b_ih.defined() == b_hh.defined(), op, ": give both biases or neither");

  const kernels::OnednnRecurrentShape shape{cell, steps, batch, input, hidden, reverse};
  Tensor xp = packed(x), h0p = packed(h0), c0p = lstm ? packed(c0) : Tensor(), wi = packed(w_ih), wh = packed(w_hh),
         bi = packed(b_ih), bh = packed(b_hh);
  const kernels::RecurrentWeightPointers weights{wi.data<float>(), wh.data<float>(), detail::f32_or_null(bi),
                                                 detail::f32_or_null(bh)};
  const bool grad = needs_grad({x, h0, c0, w_ih, w_hh, b_ih, b_hh});
  // As in recurrent_sequence: one tensor carries h at every position, then LSTM's c_n as one more row.
  Tensor all = Tensor::empty({lstm ? steps + 1 : steps, batch, hidden});
  Tensor workspace =
      grad ? Tensor::empty({int64_t(kernels::onednn_recurrent_workspace_bytes(shape))}, DType::u8) : Tensor();
  float* out = all.data<float>();
  float* c_n = lstm ? out + steps * batch * hidden : nullptr;
  kernels::onednn_recurrent_forward(shape, xp.data<float>(), h0p.data<float>(), detail::f32_or_null(c0p), weights, out,
                                    c_n, grad ? workspace.raw_data() : nullptr);
  if (grad) {
    SavedTensor s_x(xp, op), s_h0(h0p, op), s_c0(c0p, op), s_wi(wi, op), s_wh(wh, op), s_bi(bi, op), s_bh(bh, op),
        s_all(all, op);
    const bool want_w = w_ih.requires_grad() || w_hh.requires_grad();
    const bool want_b = b_ih.defined() && (b_ih.requires_grad() || b_hh.requires_grad());
    record(op, all, {x, h0, c0, w_ih, w_hh, b_ih, b_hh}, [=](const Tensor& g) {
      Tensor gp = g.contiguous();
      const float* d_all = gp.data<float>();
      Tensor dx = Tensor::empty({steps, batch, input}), dh0 = Tensor::empty({batch, hidden});
      Tensor dc0 = lstm ? Tensor::empty({batch, hidden}) : Tensor();
      Tensor dwi = want_w ? Tensor::empty(w_ih.shape()) : Tensor(),
             dwh = want_w ? Tensor::empty(w_hh.shape()) : Tensor();
      Tensor dbi = want_b ? Tensor::empty(b_ih.shape()) : Tensor(),
             dbh = want_b ? Tensor::empty(b_hh.shape()) : Tensor();
      const kernels::RecurrentWeightPointers w{s_wi.get().data<float>(), s_wh.get().data<float>(),
                                               detail::f32_or_null(s_bi.get()), detail::f32_or_null(s_bh.get())};
      const float* saved_out = s_all.get().data<float>();
      kernels::onednn_recurrent_backward(
          shape, s_x.get().data<float>(), s_h0.get().data<float>(), detail::f32_or_null(s_c0.get()), w, saved_out,
          lstm ? saved_out + steps * batch * hidden : nullptr, workspace.raw_data(), d_all,
          lstm ? d_all + steps * batch * hidden : nullptr,
          {dx.data<float>(), dh0.data<float>(), detail::f32_or_null(dc0), detail::f32_or_null(dwi),
           detail::f32_or_null(dwh), detail::f32_or_null(dbi), detail::f32_or_null(dbh)});
      return std::vector<Tensor>{dx, dh0, dc0, dwi, dwh, dbi, dbh};
    });
  }
  RecurrentSequence result;
  result.output = lstm ? all.slice(0, 0, steps) : all;
  result.h_n = result.output.select(0, reverse ? 0 : steps - 1);
  if (lstm) result.c_n = all.select(0, steps);
  return result;
}

}  // namespace nabla
