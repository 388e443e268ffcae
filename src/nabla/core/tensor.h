// Tensor: a cheap handle (one shared pointer) to storage + shape + strides + offset + dtype.
// Views share storage. Methods that are differentiable ops are defined in nabla/ops/, the way
// ATen defines TensorBody's methods, so this layer stays free of autograd logic.
#pragma once
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include "nabla/core/dtype.h"
#include "nabla/core/shape.h"
#include "nabla/core/storage.h"

namespace nabla {

namespace autograd {
class Node;
}
class Tensor;

// Runs after a gradient is accumulated into a leaf's .grad (used by data-parallel reducers).
using GradHook = std::function<void(const Tensor& leaf)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;

  // Autograd metadata. A leaf has no grad_fn; its gradients flow into `grad`.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;
  std::weak_ptr<autograd::Node> grad_accumulator;
  std::vector<GradHook> grad_hooks;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialised contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  // A view of existing storage.
  static Tensor make_view(std::shared_ptr<Storage> storage, const Shape& shape, const Shape& strides, int64_t offset,
                          DType dtype);

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int dim() const { return impl_->shape.size(); }
  int64_t size(int64_t d) const;
  int64_t stride(int64_t d) const;
  int64_t offset() const { return impl_->offset; }
  int64_t numel() const { return impl_->shape.numel(); }
  DType dtype() const { return impl_->dtype; }
  size_t element_size() const { return dtype_size(impl_->dtype); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
  uint64_t version() const { return impl_->storage->version(); }

  // Typed pointer to the first element (checks the dtype).
  template <typename T>
  T* data() const {
    if (dtype_of<T>() != dtype()) fail_dtype(dtype_of<T>());
    return reinterpret_cast<T*>(static_cast<char*>(impl_->storage->data()) + impl_->offset * sizeof(T));
  }
  void* raw_data() const { return static_cast<char*>(impl_->storage->data()) + impl_->offset * element_size(); }

  // Single values.
  template <typename T = float>
  T item() const;
  template <typename T = float>
  T at(std::initializer_list<int64_t> index) const;
  template <typename T = float>
  std::vector<T> to_vector() const;  // row-major copy of all elements

  // --- autograd (nabla/autograd) ---
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  Tensor& requires_grad_(bool enabled = true);
  bool is_leaf() const { return !impl_->grad_fn; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  Tensor grad() const { return impl_->grad ? Tensor(impl_->grad) : Tensor(); }
  void set_grad(const Tensor& g) { impl_->grad = g.impl_; }
  void register_grad_hook(GradHook hook) { impl_->grad_hooks.push_back(std::move(hook)); }
  // Reverse-mode differentiation from this tensor; `gradient` is required unless it is a scalar.
  void backward(const Tensor& gradient = Tensor()) const;
  Tensor detach() const;  // same data, cut from the graph

  // --- views (differentiable, no copy) ---
  Tensor reshape(const Shape& shape) const;  // a view when strides allow, else a copy
  Tensor view(const Shape& shape) const;     // a view or an error
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor expand(const Shape& shape) const;  // broadcast view, -1 keeps a size
  Tensor contiguous() const;                // self if already contiguous
  Tensor clone() const;
  Tensor to(DType dtype) const;

  // --- in-place (bump the version; refused on leaves that require grad while grad is on) ---
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);  // broadcasts src
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double factor);

  // --- common math as methods (see nabla/ops for the full set) ---
  Tensor sum() const;
  Tensor sum(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;

 private:
  [[noreturn]] void fail_dtype(DType wanted) const;
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& t);

// Calls f with a null pointer of the C++ type matching `dtype` (for dtype-generic code).
template <typename F>
decltype(auto) dispatch_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32: return f(static_cast<float*>(nullptr));
    case DType::bf16: return f(static_cast<bf16*>(nullptr));
    case DType::i64: return f(static_cast<int64_t*>(nullptr));
    case DType::i32: return f(static_cast<int32_t*>(nullptr));
    case DType::u8: return f(static_cast<uint8_t*>(nullptr));
    case DType::boolean: return f(static_cast<bool*>(nullptr));
    case DType::f64: return f(static_cast<double*>(nullptr));
  }
  fail("unknown dtype");
}

template <typename T>
inline double to_double(T v) {
  if constexpr (std::is_same_v<T, bf16>)
    return v.to_float();
  else
    return double(v);
}
template <typename T>
inline T from_double(double v) {
  if constexpr (std::is_same_v<T, bf16>)
    return bf16::from_float(float(v));
  else if constexpr (std::is_same_v<T, bool>)
    return v != 0.0;
  else
    return T(v);
}

}  // namespace nabla
