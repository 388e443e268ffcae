// Differentiable view methods of Tensor, plus contiguous/clone/to and the in-place methods.
#include "nabla/core/views.h"

#include <numeric>

#include "nabla/autograd/grad_mode.h"
#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/kernels/copy.h"
#include "nabla/kernels/elementwise.h"
#include "nabla/ops/activation.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/linalg.h"
#include "nabla/ops/reduce.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;

namespace {
// Gradient of a view that picked part of its input: scatter the gradient into zeros.
Tensor scatter_into_zeros(const Tensor& grad, const Shape& input_shape,
                          const std::function<Tensor(const Tensor&)>& pick) {
  Tensor full = zeros(input_shape, grad.dtype());
  kernels::copy_elements(grad, pick(full));
  return full;
}
}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  Shape shape = views::infer_shape(requested, numel(), "view");
  auto strides = views::view_strides(*this, shape);
  NABLA_CHECK(strides, "view: shape ", requested, " is not compatible with the layout of a tensor of shape ",
              this->shape(), " and strides ", this->strides(), "; use reshape() (which copies) or contiguous().view()");
  Tensor out = views::as_strided(*this, shape, *strides, offset());
  if (needs_grad({*this})) {
    Shape in_shape = this->shape();
    record("view", out, {*this}, [in_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(in_shape)}; });
  }
  return out;
}

Tensor Tensor::reshape(const Shape& requested) const {
  Shape shape = views::infer_shape(requested, numel(), "reshape");
  if (views::view_strides(*this, shape)) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  int s = wrap_dim(start_dim, dim(), "flatten"), e = wrap_dim(end_dim, dim(), "flatten");
  NABLA_CHECK(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape shape;
  for (int i = 0; i < s; ++i) shape.push_back(this->shape()[i]);
  int64_t merged = 1;
  for (int i = s; i <= e; ++i) merged *= this->shape()[i];
  shape.push_back(merged);
  for (int i = e + 1; i < dim(); ++i) shape.push_back(this->shape()[i]);
  return reshape(shape);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  Tensor out = views::permute(*this, dims);
  if (needs_grad({*this})) {
    std::vector<int64_t> inverse(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) inverse[wrap_dim(dims[i], dim(), "permute")] = int64_t(i);
    record("permute", out, {*this}, [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
  }
  return out;
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  std::vector<int64_t> dims(dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[wrap_dim(dim0, dim(), "transpose")], dims[wrap_dim(dim1, dim(), "transpose")]);
  return permute(dims);
}

Tensor Tensor::t() const {
  NABLA_CHECK(dim() <= 2, "t: expects a tensor with at most 2 dimensions, got shape ", shape(),
              "; use transpose(dim0, dim1)");
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  Tensor out = views::slice(*this, dim, start, end, step);
  if (needs_grad({*this})) {
    Shape in_shape = shape();
    record("slice", out, {*this}, [=](const Tensor& g) {
      return std::vector<Tensor>{
          scatter_into_zeros(g, in_shape, [&](const Tensor& f) { return views::slice(f, dim, start, end, step); })};
    });
  }
  return out;
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  int d = wrap_dim(dim, this->dim(), "narrow");
  if (start < 0) start += shape()[d];
  NABLA_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d], "narrow: range [", start, ", ", start + length,
              ") is outside dimension ", d, " of size ", shape()[d]);
  return slice(d, start, start + length, 1);
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  Tensor out = views::select(*this, dim, index);
  if (needs_grad({*this})) {
    Shape in_shape = shape();
    record("select", out, {*this}, [=](const Tensor& g) {
      return std::vector<Tensor>{
          scatter_into_zeros(g, in_shape, [&](const Tensor& f) { return views::select(f, dim, index); })};
    });
  }
  return out;
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  Tensor out = views::unsqueeze(*this, dim);
  if (needs_grad({*this})) {
    Shape in_shape = shape();
    record("unsqueeze", out, {*this}, [in_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(in_shape)}; });
  }
  return out;
}

Tensor Tensor::squeeze() const {
  Tensor out = views::squeeze(*this, std::nullopt);
  if (needs_grad({*this})) {
    Shape in_shape = shape();
    record("squeeze", out, {*this}, [in_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(in_shape)}; });
  }
  return out;
}

Tensor Tensor::squeeze(int64_t dim) const {
  Tensor out = views::squeeze(*this, dim);
  if (needs_grad({*this})) {
    Shape in_shape = shape();
    record("squeeze", out, {*this}, [in_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(in_shape)}; });
  }
  return out;
}

Tensor Tensor::expand(const Shape& shape) const {
  Tensor out = views::expand(*this, shape);
  if (needs_grad({*this})) {
    Shape in_shape = this->shape();
    record("expand", out, {*this}, [in_shape](const Tensor& g) { return std::vector<Tensor>{sum_to(g, in_shape)}; });
  }
  return out;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = kernels::contiguous_copy(*this);
  if (needs_grad({*this})) record("clone", out, {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = Tensor::empty(shape(), target);
  kernels::copy_elements(*this, out);
  if (needs_grad({*this}) && is_floating(target)) {
    DType source = dtype();
    record("to", out, {*this}, [source](const Tensor& g) { return std::vector<Tensor>{g.to(source)}; });
  }
  return out;
}

// --- in-place ---

namespace {
void check_inplace(const Tensor& t, const char* op) {
  NABLA_CHECK(!(GradMode::is_enabled() && t.requires_grad()), op,
              ": in-place change of a tensor that requires "
              "grad (shape ",
              t.shape(), ") would corrupt its gradient; do it under NoGradGuard, or on a detach()ed copy");
}
}  // namespace

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  kernels::copy_elements(views::expand(scalar_tensor(value, dtype()), shape()), *this);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  broadcast_shapes(shape(), src.shape(), "copy_");
  kernels::copy_elements(views::expand(src, shape()), *this);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace(*this, "add_");
  NABLA_CHECK(dtype() == DType::f32 && other.dtype() == DType::f32, "add_: expects f32 tensors, got ",
              dtype_name(dtype()), " and ", dtype_name(other.dtype()));
  Tensor src = views::expand(other, shape());
  if (is_contiguous() && src.is_contiguous()) {
    kernels::axpy(float(alpha), src.data<float>(), data<float>(), numel());
  } else {
    NoGradGuard no_grad;
    copy_(add(*this, mul(src, alpha)));
  }
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::mul_(double factor) {
  check_inplace(*this, "mul_");
  NoGradGuard no_grad;
  Tensor scaled = mul(*this, factor);
  kernels::copy_elements(scaled, *this);
  storage()->bump_version();
  return *this;
}

// --- method sugar ---
Tensor Tensor::sum() const { return nabla::sum(*this); }
Tensor Tensor::sum(const std::vector<int64_t>& dims, bool keepdim) const { return nabla::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return nabla::mean(*this); }
Tensor Tensor::mean(const std::vector<int64_t>& dims, bool keepdim) const { return nabla::mean(*this, dims, keepdim); }
Tensor Tensor::matmul(const Tensor& other) const { return nabla::matmul(*this, other); }
Tensor Tensor::exp() const { return nabla::exp(*this); }
Tensor Tensor::log() const { return nabla::log(*this); }
Tensor Tensor::relu() const { return nabla::relu(*this); }
Tensor Tensor::sigmoid() const { return nabla::sigmoid(*this); }
Tensor Tensor::tanh() const { return nabla::tanh(*this); }
Tensor Tensor::argmax(int64_t dim, bool keepdim) const { return nabla::argmax(*this, dim, keepdim); }

}  // namespace nabla
