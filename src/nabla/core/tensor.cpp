#include "nabla/core/tensor.h"

#include <cmath>
#include <iomanip>
#include <type_traits>

namespace nabla {

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  // Strides multiply every non-zero size, so their product must fit even when a zero makes the
  // tensor empty; beyond 2^62 bytes it is a corrupt size, not a tensor.
  int64_t product = 1;
  for (int64_t d : shape) {
    NABLA_CHECK(d >= 0, "empty: negative dimension in shape ", shape);
    NABLA_CHECK(d == 0 || product <= (int64_t(1) << 59) / d, "empty: shape ", shape, " is too large to address");
    if (d != 0) product *= d;
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape.numel()) * dtype_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::make_view(std::shared_ptr<Storage> storage, const Shape& shape, const Shape& strides, int64_t offset,
                         DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

void Tensor::fail_dtype(DType wanted) const {
  fail("tensor has dtype ", dtype_name(dtype()), " but was read as ", dtype_name(wanted),
       "; convert it with .to(DType::", dtype_name(wanted), ")");
}

template <typename T>
T Tensor::item() const {
  NABLA_CHECK(numel() == 1, "item: the tensor has ", numel(), " elements of shape ", shape(),
              "; item() needs exactly one");
  return dispatch_dtype(dtype(), [&](auto* p) -> T {
    using S = std::remove_pointer_t<decltype(p)>;
    return from_double<T>(to_double(*data<S>()));
  });
}

template <typename T>
T Tensor::at(std::initializer_list<int64_t> index) const {
  NABLA_CHECK(int(index.size()) == dim(), "at: ", index.size(), " indices given for a tensor of shape ", shape());
  int64_t offset = 0;
  int d = 0;
  for (int64_t i : index) {
    NABLA_CHECK(i >= -shape()[d] && i < shape()[d], "at: index ", i, " is out of range for dimension ", d, " of size ",
                shape()[d]);
    offset += (i < 0 ? i + shape()[d] : i) * strides()[d];
    ++d;
  }
  return dispatch_dtype(dtype(), [&](auto* p) -> T {
    using S = std::remove_pointer_t<decltype(p)>;
    return from_double<T>(to_double(data<S>()[offset]));
  });
}

namespace {

// One element converted as copy_elements converts it (kernels/copy.h).
template <typename D, typename S>
D convert_element(S s) {
  if constexpr (std::is_same_v<S, D>)
    return s;
  else if constexpr (std::is_same_v<D, bf16>)
    return bf16::from_float(float(to_double(s)));
  else if constexpr (std::is_same_v<S, bf16>)
    return from_double<D>(s.to_float());
  else if constexpr (std::is_same_v<D, bool>)
    return s != S(0);
  else
    return D(s);
}

}  // namespace

// Element by element on one thread: a reader's accessor for small tensors, not a kernel.
template <typename T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out;
  out.reserve(size_t(numel()));
  if (numel() == 0) return out;
  dispatch_dtype(dtype(), [&](auto* tag) {
    using S = std::remove_pointer_t<decltype(tag)>;
    const S* base = data<S>();
    std::vector<int64_t> index(size_t(dim()), 0);
    for (int64_t n = 0, total = numel(); n < total; ++n) {
      int64_t offset = 0;
      for (int d = 0; d < dim(); ++d) offset += index[size_t(d)] * strides()[d];
      out.push_back(convert_element<T>(base[offset]));
      for (int d = dim() - 1; d >= 0 && ++index[size_t(d)] == shape()[d]; --d) index[size_t(d)] = 0;
    }
  });
  return out;
}

#define NABLA_INSTANTIATE_ACCESS(T)                               \
  template T Tensor::item<T>() const;                             \
  template T Tensor::at<T>(std::initializer_list<int64_t>) const; \
  template std::vector<T> Tensor::to_vector<T>() const;
NABLA_INSTANTIATE_ACCESS(float)
NABLA_INSTANTIATE_ACCESS(int64_t)
NABLA_INSTANTIATE_ACCESS(int32_t)
NABLA_INSTANTIATE_ACCESS(uint8_t)
NABLA_INSTANTIATE_ACCESS(bool)
NABLA_INSTANTIATE_ACCESS(double)
#undef NABLA_INSTANTIATE_ACCESS

Tensor& Tensor::requires_grad_(bool enabled) {
  NABLA_CHECK(!enabled || is_floating(dtype()),
              "requires_grad_: only floating-point tensors can require "
              "gradients, this one is ",
              dtype_name(dtype()));
  NABLA_CHECK(enabled || is_leaf(),
              "requires_grad_(false): only leaves can stop requiring gradients; "
              "use detach() on a computed tensor");
  impl_->requires_grad = enabled;
  return *this;
}

Tensor Tensor::detach() const { return make_view(storage(), shape(), strides(), offset(), dtype()); }

namespace {

void print_recursive(std::ostream& out, const Tensor& t, std::vector<int64_t>& index, int d, int indent) {
  if (d == t.dim()) {
    double v = dispatch_dtype(t.dtype(), [&](auto* p) {
      using S = std::remove_pointer_t<decltype(p)>;
      int64_t off = 0;
      for (int i = 0; i < t.dim(); ++i) off += index[i] * t.strides()[i];
      return to_double(t.data<S>()[off]);
    });
    if (is_floating(t.dtype()))
      out << std::fixed << std::setprecision(4) << v;
    else if (t.dtype() == DType::boolean)
      out << (v != 0 ? "true" : "false");
    else
      out << int64_t(v);
    return;
  }
  out << '[';
  const int64_t n = t.shape()[d], edge = 3;
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * edge + 1 && i == edge) {
      out << "..., ";
      i = n - edge - 1;
      continue;
    }
    if (i > 0) {
      out << ',';
      if (d + 1 < t.dim())
        out << '\n' << std::string(indent + d + 1, ' ');
      else
        out << ' ';
    }
    index[d] = i;
    print_recursive(out, t, index, d + 1, indent);
  }
  out << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "tensor(undefined)";
  out << "tensor(";
  std::vector<int64_t> index(t.dim());
  auto flags = out.flags();
  print_recursive(out, t, index, 0, 7);
  out.flags(flags);
  out << ", shape=" << t.shape() << ", dtype=" << dtype_name(t.dtype());
  if (t.requires_grad()) out << ", requires_grad";
  return out << ')';
}

}  // namespace nabla
