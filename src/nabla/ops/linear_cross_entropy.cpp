#include "nabla/ops/linear_cross_entropy.h"

#include <algorithm>
#include <cmath>

#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/cross_entropy.h"
#include "nabla/kernels/matmul.h"
#include "nabla/kernels/reduce.h"
#include "nabla/ops/autocast.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/op_utils.h"

namespace nabla {

namespace {

// Rows per block: about 64 MB of f32 scores, enough rows to keep the GEMMs efficient.
constexpr int64_t kBlockFloats = int64_t(16) << 20;

// Rows [first, first + rows) of a row-major [R, C] matrix (f32 or bf16) as a GEMM operand,
// transposed (C x rows) when asked.
kernels::MatrixOperand rows_of(const Tensor& m, int64_t first, bool transposed = false) {
  const int64_t cols = m.shape()[1];
  const void* at = static_cast<const char*>(m.raw_data()) + first * cols * int64_t(dtype_size(m.dtype()));
  return transposed ? kernels::MatrixOperand{at, m.dtype(), 1, 0, 1, cols}
                    : kernels::MatrixOperand{at, m.dtype(), 1, 0, cols, 1};
}

// The weight as the second operand of rows @ weight^T: [C, V] by strides.
kernels::MatrixOperand transposed_whole(const Tensor& w) {
  return kernels::MatrixOperand{w.raw_data(), w.dtype(), 1, 0, 1, w.shape()[1]};
}

}  // namespace

Tensor linear_cross_entropy(const Tensor& input, const Tensor& weight, const Tensor& target,
                            const CrossEntropyOptions& options, Tensor* predicted) {
  NABLA_PROFILE_OP("linear_cross_entropy");
  const char* op = "linear_cross_entropy";
  detail::check_f32(input, op, "input");
  detail::check_f32(weight, op, "weight");
  detail::check_index(target, op, "target");
  NABLA_CHECK(options.reduction == "mean" || options.reduction == "sum", op,
              ": reduction must be \"mean\" or \"sum\", got \"", options.reduction,
              "\" (for per-row losses use cross_entropy on the scores)");
  NABLA_CHECK(options.label_smoothing >= 0 && options.label_smoothing <= 1, op,
              ": label_smoothing must be in [0, 1], got ", options.label_smoothing);
  NABLA_CHECK(weight.dim() == 2, op, ": weight must be [classes, features], got ", weight.shape());
  const int64_t classes = weight.shape()[0], features = weight.shape()[1];
  NABLA_CHECK(classes > 0, op, ": weight has no classes");
  NABLA_CHECK(input.dim() >= 1 && input.shape()[input.dim() - 1] == features, op, ": input of shape ", input.shape(),
              " does not end in the weight's ", features, " features (weight ", weight.shape(), ")");
  const Shape leading(input.shape().begin(), input.shape().end() - 1);
  NABLA_CHECK(target.shape() == leading, op, ": target shape ", target.shape(), " does not match input shape ",
              input.shape(), " (expected ", leading, ": the input without its feature dimension)");

  const Tensor targets = target.to(DType::i64).contiguous();
  const int64_t rows = targets.numel();
  const int64_t* tv = targets.data<int64_t>();
  int64_t counted = 0;
  for (int64_t i = 0; i < rows; ++i) {
    NABLA_CHECK(tv[i] == options.ignore_index || (tv[i] >= 0 && tv[i] < classes), op, ": target ", tv[i],
                " at position ", i, " is not a class index in [0, ", classes, ") (ignore_index is ",
                options.ignore_index, ")");
    counted += tv[i] != options.ignore_index;
  }
  const bool mean = options.reduction == "mean";
  const float scale = mean ? 1.0f / float(std::max<int64_t>(counted, 1)) : 1.0f;

  // Under bf16 autocast both GEMM operands are bf16, as matmul would make them.
  const bool low_precision = autocast_dtype() == DType::bf16;
  auto operand = [&](const Tensor& t) {
    return low_precision ? detail::bf16_gemm_operand(t.contiguous()) : t.contiguous();
  };
  const Tensor x = operand(input.reshape({rows, features})), w = operand(weight);
  const bool grad_input = autograd::needs_grad({input}), grad_weight = autograd::needs_grad({weight});
  Tensor dx = grad_input ? Tensor::empty({rows, features}) : Tensor();
  Tensor dw = grad_weight ? zeros({classes, features}) : Tensor();
  Tensor lse = Tensor::empty({std::max<int64_t>(rows, 1)}), per_row = Tensor::empty({std::max<int64_t>(rows, 1)});
  Tensor best = predicted ? Tensor::empty(target.shape(), DType::i64) : Tensor();

  const int64_t block = std::clamp<int64_t>(kBlockFloats / classes, 1, std::max<int64_t>(rows, 1));
  Tensor scores = Tensor::empty({block, classes}), best_scores = Tensor::empty({block});
  const float one = 1.0f;
  for (int64_t first = 0; first < rows; first += block) {
    const int64_t n = std::min(block, rows - first);
    float* s = scores.data<float>();
    kernels::matmul(rows_of(x, first), transposed_whole(w), s, 1, n, features, classes);
    const kernels::ClassRows in{
        s, n, classes, tv + first, nullptr, options.ignore_index, float(options.label_smoothing)};
    kernels::cross_entropy_forward(in, lse.data<float>() + first, per_row.data<float>() + first);
    if (predicted) kernels::max_reduce(s, best_scores.data<float>(), best.data<int64_t>() + first, n, classes, 1);
    if (!grad_input && !grad_weight) continue;
    // The block's gradient replaces its scores; the GEMMs take it in the scores' precision.
    kernels::cross_entropy_backward(in, lse.data<float>() + first, &one, false, scale, s);
    Tensor g = scores.narrow(0, 0, n);
    if (low_precision) g = x.dtype() == DType::bf16 ? detail::to_bf16(g) : detail::round_to_bf16(g);
    if (grad_input)  // dx rows = g @ weight
      kernels::matmul(rows_of(g, 0), rows_of(w, 0), dx.data<float>() + first * features, 1, n, classes, features);
    if (grad_weight)  // dw += g^T @ x rows
      kernels::matmul(rows_of(g, 0, true), rows_of(x, first), dw.data<float>(), 1, classes, n, features, true);
  }

  float total = 0;  // in row order, as cross_entropy sums
  for (int64_t i = 0; i < rows; ++i) total += per_row.data<float>()[i];
  Tensor out = scalar_tensor(counted == 0 && mean ? NAN : total * scale);
  if (predicted) *predicted = best;
  if (grad_input || grad_weight) {
    const Shape input_shape = input.shape();
    autograd::record(op, out, {input, weight}, [dx, dw, input_shape](const Tensor& g) {
      const bool unit = g.item<double>() == 1.0;  // the usual case: loss.backward()
      auto scaled = [&](const Tensor& d) { return !d.defined() ? d : unit ? d : mul(d, g); };
      return std::vector<Tensor>{dx.defined() ? scaled(dx).reshape(input_shape) : Tensor(), scaled(dw)};
    });
  }
  return out;
}

}  // namespace nabla
