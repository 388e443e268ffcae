#include "nabla/ops/recurrent.h"

#include "nabla/autograd/node.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/copy.h"
#include "nabla/ops/op_utils.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

Tensor packed(const Tensor& t) { return t.is_contiguous() ? t : kernels::contiguous_copy(t); }

}  // namespace

RecurrentSequence recurrent_sequence(RecurrentCell cell, const Tensor& x_gates, const Tensor& h0, const Tensor& c0,
                                     const Tensor& w_hh, const Tensor& b_hh, bool reverse) {
  const char* op = kernels::recurrent_cell_name(cell);
  NABLA_PROFILE_OP(op);
  const bool lstm = cell == RecurrentCell::lstm;
  const int64_t gates = kernels::recurrent_gate_count(cell);
  detail::check_f32(x_gates, op, "x_gates");
  detail::check_f32(h0, op, "h0");
  detail::check_f32(w_hh, op, "w_hh");
  NABLA_CHECK(w_hh.dim() == 2 && w_hh.shape()[0] == gates * w_hh.shape()[1], op, ": w_hh must be [", gates,
              " * hidden, hidden], got ", w_hh.shape());
  const int64_t hidden = w_hh.shape()[1];
  NABLA_CHECK(x_gates.dim() == 3 && x_gates.shape()[2] == gates * hidden, op, ": x_gates must be [steps, batch, ",
              gates * hidden, "] (", gates, " gates x hidden ", hidden, "), got ", x_gates.shape());
  const int64_t steps = x_gates.shape()[0], batch = x_gates.shape()[1];
  NABLA_CHECK(steps > 0, op, ": the sequence is empty (shape ", x_gates.shape(), "); give it at least one step");
  NABLA_CHECK(h0.shape() == Shape({batch, hidden}), op, ": h0 must be [batch, hidden] = [", batch, ", ", hidden,
              "], got ", h0.shape());
  if (lstm) {
    detail::check_f32(c0, op, "c0");
    NABLA_CHECK(c0.shape() == Shape({batch, hidden}), op, ": c0 must be [batch, hidden] = [", batch, ", ", hidden,
                "], got ", c0.shape());
  } else {
    NABLA_CHECK(!c0.defined(), op, ": only LSTM has a cell state; pass an undefined c0");
  }
  if (b_hh.defined()) {
    detail::check_f32(b_hh, op, "b_hh");
    NABLA_CHECK(b_hh.shape() == Shape({gates * hidden}), op, ": b_hh must be [", gates * hidden, "], got ",
                b_hh.shape());
  }

  const kernels::RecurrentShape shape{cell, steps, batch, hidden, reverse};
  Tensor xg = packed(x_gates), h0p = packed(h0), c0p = lstm ? packed(c0) : Tensor(), w = packed(w_hh),
         b = b_hh.defined() ? packed(b_hh) : Tensor();
  const bool grad = needs_grad({x_gates, h0, c0, w_hh, b_hh});
  // One output tensor carries every result (autograd nodes have one output): the h of each
  // position, then for LSTM c_n as one more row. output, h_n and c_n are views of it.
  Tensor all = Tensor::empty({lstm ? steps + 1 : steps, batch, hidden});
  const int64_t saved_size = kernels::recurrent_saved_size(shape);
  Tensor saved = grad && saved_size > 0 ? Tensor::empty({saved_size}) : Tensor();
  float* out = all.data<float>();
  kernels::recurrent_forward(shape, xg.data<float>(), w.data<float>(), detail::f32_or_null(b), h0p.data<float>(),
                             detail::f32_or_null(c0p), out, lstm ? out + steps * batch * hidden : nullptr,
                             detail::f32_or_null(saved));
  if (grad) {
    SavedTensor s_w(w, op), s_h0(h0p, op), s_c0(c0p, op), s_all(all, op);
    const bool want_w = w_hh.requires_grad(), want_b = b_hh.defined() && b_hh.requires_grad();
    record(op, all, {x_gates, h0, c0, w_hh, b_hh}, [=](const Tensor& g) {
      Tensor gp = packed(g);
      const float* d_all = gp.data<float>();
      Tensor dx = Tensor::empty({steps, batch, gates * hidden}), dh0 = Tensor::empty({batch, hidden});
      Tensor dc0 = lstm ? Tensor::empty({batch, hidden}) : Tensor();
      Tensor dw = want_w ? Tensor::empty({gates * hidden, hidden}) : Tensor();
      Tensor db = want_b ? Tensor::empty({gates * hidden}) : Tensor();
      kernels::recurrent_backward(shape, s_w.get().data<float>(), s_h0.get().data<float>(),
                                  detail::f32_or_null(s_c0.get()), s_all.get().data<float>(),
                                  detail::f32_or_null(saved), d_all, lstm ? d_all + steps * batch * hidden : nullptr,
                                  dx.data<float>(), dh0.data<float>(), lstm ? dc0.data<float>() : nullptr,
                                  want_w ? dw.data<float>() : nullptr, want_b ? db.data<float>() : nullptr);
      return std::vector<Tensor>{dx, dh0, dc0, dw, db};
    });
  }
  RecurrentSequence result;
  result.output = lstm ? all.slice(0, 0, steps) : all;
  result.h_n = result.output.select(0, reverse ? 0 : steps - 1);
  if (lstm) result.c_n = all.select(0, steps);
  return result;
}

}  // namespace nabla
