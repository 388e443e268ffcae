#include "nabla/ops/loss.h"

#include <cmath>

#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/binary_cross_entropy.h"
#include "nabla/kernels/copy.h"
#include "nabla/kernels/cross_entropy.h"
#include "nabla/kernels/elementwise.h"
#include "nabla/ops/activation.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/op_utils.h"
#include "nabla/ops/reduce.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

Tensor reduce_loss(const Tensor& per_element, const std::string& reduction) {
  if (reduction == "none") return per_element;
  if (reduction == "sum") return sum(per_element);
  return mean(per_element);
}

void check_same_shape(const Tensor& input, const Tensor& target, const char* op) {
  detail::check_f32(input, op, "input");
  detail::check_f32(target, op, "target");
  NABLA_CHECK(input.shape() == target.shape(), op, ": input shape ", input.shape(), " and target shape ",
              target.shape(), " must be equal");
}

// Element-wise loss of (input, target[, weight]) by a forward and a backward kernel; the target and
// weight are treated as constants, as PyTorch's BCE losses do for their gradient flow here.
using PointwiseForward = void (*)(const float*, const float*, const float*, float*, int64_t);
using PointwiseBackward = void (*)(const float*, const float*, const float*, const float*, float*, int64_t);

Tensor pointwise_loss(const char* op, const Tensor& input, const Tensor& target, const Tensor& weight,
                      PointwiseForward forward, PointwiseBackward backward) {
  Tensor x = input.contiguous(), y = target.contiguous();
  Tensor w = weight.defined() ? kernels::contiguous_copy(views::expand(weight, input.shape())) : Tensor();
  Tensor out = Tensor::empty(input.shape());
  forward(x.data<float>(), y.data<float>(), detail::f32_or_null(w), out.data<float>(), out.numel());
  if (needs_grad({input})) {
    record(op, out, {input}, [x, y, w, backward](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dx = Tensor::empty(x.shape());
      backward(x.data<float>(), y.data<float>(), detail::f32_or_null(w), gp.data<float>(), dx.data<float>(),
               dx.numel());
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  NABLA_PROFILE_OP("mse_loss");
  check_same_shape(input, target, "mse_loss");
  detail::check_reduction(reduction, "mse_loss");
  Tensor diff = sub(input, target);
  return reduce_loss(mul(diff, diff), reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            const std::string& reduction) {
  NABLA_PROFILE_OP("binary_cross_entropy");
  check_same_shape(input, target, "binary_cross_entropy");
  detail::check_reduction(reduction, "binary_cross_entropy");
  if (weight.defined()) {
    detail::check_f32(weight, "binary_cross_entropy", "weight");
    broadcast_shapes(weight.shape(), input.shape(), "binary_cross_entropy (weight)");
  }
  {
    Tensor x = input.contiguous();
    const float* xv = x.data<float>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i)
      NABLA_CHECK(xv[i] >= 0 && xv[i] <= 1,
                  "binary_cross_entropy: input values must be probabilities in [0, 1], "
                  "found ",
                  xv[i], " at flat index ", i, "; apply sigmoid first or use binary_cross_entropy_with_logits");
  }
  // log is clamped at -100 like PyTorch, so p = 0 or 1 gives a finite loss.
  Tensor per =
      pointwise_loss("binary_cross_entropy", input, target, weight, kernels::bce_forward, kernels::bce_backward);
  return reduce_loss(per, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& pos_weight,
                                        const std::string& reduction) {
  NABLA_PROFILE_OP("binary_cross_entropy_with_logits");
  check_same_shape(input, target, "binary_cross_entropy_with_logits");
  detail::check_reduction(reduction, "binary_cross_entropy_with_logits");
  if (pos_weight.defined()) {
    detail::check_f32(pos_weight, "binary_cross_entropy_with_logits", "pos_weight");
    broadcast_shapes(pos_weight.shape(), input.shape(), "binary_cross_entropy_with_logits (pos_weight)");
  }
  Tensor per = pointwise_loss("binary_cross_entropy_with_logits", input, target, pos_weight,
                              kernels::bce_with_logits_forward, kernels::bce_with_logits_backward);
  return reduce_loss(per, reduction);
}

namespace {

// Logits [N, C, d1...] as a packed [rows, C] matrix (class dim last).
Tensor rows_by_class(const Tensor& t) {
  if (t.dim() <= 2) return t.contiguous();
  std::vector<int64_t> order{0};
  for (int i = 2; i < t.dim(); ++i) order.push_back(i);
  order.push_back(1);
  return kernels::contiguous_copy(views::permute(t, order)).reshape({-1, t.shape()[1]});
}

// The inverse of rows_by_class for a gradient.
Tensor restore_layout(const Tensor& rows, const Shape& shape) {
  if (shape.size() <= 2) return rows.reshape(shape);
  Shape permuted{shape[0]};
  for (int i = 2; i < shape.size(); ++i) permuted.push_back(shape[i]);
  permuted.push_back(shape[1]);
  std::vector<int64_t> order{0, int64_t(shape.size()) - 1};
  for (int i = 1; i < shape.size() - 1; ++i) order.push_back(i);
  return kernels::contiguous_copy(views::permute(rows.reshape(permuted), order));
}

// Checks the class-index target against logits [N, C, d...] and returns it as packed i64 rows.
Tensor class_targets(const Tensor& logits, const Tensor& target, int64_t ignore_index, const char* op) {
  detail::check_index(target, op, "target");
  Shape expected{logits.shape()[0]};
  for (int i = 2; i < logits.dim(); ++i) expected.push_back(logits.shape()[i]);
  if (logits.dim() == 1) expected = Shape{};
  NABLA_CHECK(target.shape() == expected, op, ": target shape ", target.shape(), " does not match input shape ",
              logits.shape(), " (expected ", expected, ": the input without its class dimension 1)");
  Tensor t = target.to(DType::i64).contiguous();
  const int64_t classes = logits.dim() == 1 ? logits.shape()[0] : logits.shape()[1];
  const int64_t* tv = t.data<int64_t>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    NABLA_CHECK(tv[i] == ignore_index || (tv[i] >= 0 && tv[i] < classes), op, ": target ", tv[i], " at position ", i,
                " is not a class index in [0, ", classes, ") (ignore_index is ", ignore_index, ")");
  return t;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  NABLA_PROFILE_OP("cross_entropy");
  const char* op = "cross_entropy";
  detail::check_f32(logits, op, "input");
  detail::check_defined(target, op, "target");
  detail::check_reduction(options.reduction, op);
  NABLA_CHECK(options.label_smoothing >= 0 && options.label_smoothing <= 1, op,
              ": label_smoothing must be in [0, 1], got ", options.label_smoothing);
  NABLA_CHECK(logits.dim() >= 1, op, ": input must have a class dimension, got a scalar");
  const bool unbatched = logits.dim() == 1;
  Tensor batched = unbatched ? logits.unsqueeze(0) : logits;
  const int64_t classes = batched.shape()[1];
  const float eps = float(options.label_smoothing);
  const bool probabilities = is_floating(target.dtype());
  Tensor targets;
  if (probabilities) {
    NABLA_CHECK(target.shape() == logits.shape(), op, ": probability targets must have the input's shape ",
                logits.shape(), ", got ", target.shape());
    targets = rows_by_class(unbatched ? target.unsqueeze(0) : target);
  } else {
    targets = class_targets(logits, target, options.ignore_index, op);
  }
  Tensor x = rows_by_class(batched);
  const int64_t rows = x.shape()[0];
  Tensor lse = Tensor::empty({rows}), per_row = Tensor::empty({rows});
  const kernels::ClassRows in{x.data<float>(),
                              rows,
                              classes,
                              probabilities ? nullptr : targets.data<int64_t>(),
                              probabilities ? targets.data<float>() : nullptr,
                              options.ignore_index,
                              eps};
  const kernels::RowLosses losses = kernels::cross_entropy_forward(in, lse.data<float>(), per_row.data<float>());
  Shape per_shape = target.shape();
  if (probabilities) {
    per_shape = Shape{batched.shape()[0]};
    for (int i = 2; i < batched.dim(); ++i) per_shape.push_back(batched.shape()[i]);
    if (unbatched) per_shape = Shape{};
  }
  Tensor out;
  const float scale = options.reduction == "mean" ? 1.0f / float(std::max<int64_t>(losses.counted, 1)) : 1.0f;
  if (options.reduction == "none")
    out = per_row.reshape(per_shape);
  else
    out = scalar_tensor(losses.counted == 0 && options.reduction == "mean" ? NAN : losses.total * scale);
  if (needs_grad({logits})) {
    const bool none = options.reduction == "none";
    Shape logits_shape = logits.shape();
    // `in` points into x and targets: the closure holds them.
    record(op, out, {logits}, [=, held = std::vector<Tensor>{x, targets}](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dx = Tensor::empty({rows, classes});
      kernels::cross_entropy_backward(in, lse.data<float>(), gp.data<float>(), none, scale, dx.data<float>());
      return std::vector<Tensor>{restore_layout(dx, logits_shape)};
    });
  }
  return out;
}

Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction, bool log_target) {
  NABLA_PROFILE_OP("kl_div");
  const char* op = "kl_div";
  check_same_shape(input, target, op);
  NABLA_CHECK(reduction == "mean" || reduction == "batchmean" || reduction == "sum" || reduction == "none", op,
              ": reduction must be \"batchmean\", \"mean\", \"sum\" or \"none\", got \"", reduction, "\"");
  NABLA_CHECK(reduction != "batchmean" || input.dim() >= 1, op, ": batchmean needs a batch dimension");
  const Tensor x = input.contiguous(), t = target.contiguous();
  const float *xv = x.data<float>(), *tv = t.data<float>();
  Tensor per = Tensor::empty(input.shape()), weight = Tensor::empty(input.shape());  // weight: d per / d input = -p
  float *pv = per.data<float>(), *wv = weight.data<float>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) {
    // PyTorch's xlogy(t, t) - t * x: a zero target contributes 0 (its log is never taken).
    const float p = log_target ? std::exp(tv[i]) : tv[i];
    const float log_p = log_target ? tv[i] : (p > 0 ? std::log(p) : 0.0f);
    pv[i] = (p > 0 ? p * log_p : 0.0f) - p * xv[i];
    wv[i] = -p;
  }
  if (needs_grad({input}))
    record(op, per, {input}, [weight](const Tensor& g) { return std::vector<Tensor>{mul(g, weight)}; });
  if (reduction == "batchmean") return mul(sum(per), 1.0 / double(input.shape()[0]));
  return reduce_loss(per, reduction);
}

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, double temperature) {
  NABLA_PROFILE_OP("distillation_loss");
  const char* op = "distillation_loss";
  detail::check_f32(student_logits, op, "student logits");
  detail::check_f32(teacher_logits, op, "teacher logits");
  NABLA_CHECK(student_logits.shape() == teacher_logits.shape(), op, ": the student's logits ", student_logits.shape(),
              " and the teacher's ", teacher_logits.shape(),
              " differ; the two models must score the same classes (vocabulary) at the same positions");
  NABLA_CHECK(student_logits.dim() >= 1 && temperature > 0 && std::isfinite(temperature), op,
              ": needs logits with a class dimension and a positive temperature, got ", temperature);
  const int64_t classes = student_logits.shape()[student_logits.dim() - 1];
  const Tensor s = student_logits.reshape({-1, classes}), t = teacher_logits.detach().reshape({-1, classes});
  const Tensor soft_targets = softmax(mul(t, 1.0 / temperature), -1);
  return mul(kl_div(log_softmax(mul(s, 1.0 / temperature), -1), soft_targets, "batchmean"), temperature * temperature);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index, const std::string& reduction) {
  NABLA_PROFILE_OP("nll_loss");
  const char* op = "nll_loss";
  detail::check_f32(log_probs, op, "input");
  detail::check_reduction(reduction, op);
  NABLA_CHECK(log_probs.dim() >= 1, op, ": input must have a class dimension, got a scalar");
  Tensor targets = class_targets(log_probs, target, ignore_index, op);
  const bool unbatched = log_probs.dim() == 1;
  Tensor x = rows_by_class(unbatched ? log_probs.unsqueeze(0) : log_probs);
  const int64_t rows = x.shape()[0], classes = x.shape()[1];
  Tensor per_row = Tensor::empty({rows});
  const kernels::ClassRows in{x.data<float>(), rows, classes, targets.data<int64_t>(), nullptr, ignore_index, 0.0f};
  const kernels::RowLosses losses = kernels::nll_forward(in, per_row.data<float>());
  const float scale = reduction == "mean" ? 1.0f / float(std::max<int64_t>(losses.counted, 1)) : 1.0f;
  Tensor out;
  if (reduction == "none")
    out = per_row.reshape(target.shape());
  else
    out = scalar_tensor(losses.counted == 0 && reduction == "mean" ? NAN : losses.total * scale);
  if (needs_grad({log_probs})) {
    const bool none = reduction == "none";
    Shape shape = log_probs.shape();
    record(op, out, {log_probs}, [=, held = std::vector<Tensor>{targets}](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dx = zeros({rows, classes});
      kernels::nll_backward(in, gp.data<float>(), none, scale, dx.data<float>());
      return std::vector<Tensor>{restore_layout(dx, shape)};
    });
  }
  return out;
}

}  // namespace nabla
