#include "nabla/autograd/node.h"

#include "nabla/autograd/grad_mode.h"
#include "nabla/kernels/copy.h"

namespace nabla::autograd {

std::vector<Tensor> Node::apply(const Tensor& grad_output) {
  NABLA_CHECK(backward_, name_,
              " backward: trying to backward through the graph a second time; the graph "
              "is freed after backward() (call backward() once per forward pass)");
  return backward_(grad_output);
}

void Node::release() {
  backward_ = nullptr;
  next_.clear();
}

namespace {
// A gradient nothing else references (its tensor and its memory) that covers its whole storage
// becomes .grad as is, as in PyTorch; one that may alias another tensor is copied.
bool can_become_grad(const Tensor& grad, const Tensor& leaf) {
  const bool sole_owner = grad.impl_ptr().use_count() == 1 && grad.storage().use_count() == 1;
  const bool whole_storage = grad.is_contiguous() && grad.offset() == 0 &&
                             grad.storage()->nbytes() == size_t(grad.numel()) * dtype_size(grad.dtype());
  return sole_owner && whole_storage && grad.dtype() == leaf.dtype();
}
}  // namespace

AccumulateGrad::AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf)
    : Node("AccumulateGrad", {}, nullptr), leaf_(leaf) {}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad_output) {
  auto leaf_impl = leaf_.lock();
  if (!leaf_impl) return {};
  Tensor leaf(leaf_impl);
  NABLA_CHECK(grad_output.shape() == leaf.shape(), "gradient of shape ", grad_output.shape(),
              " does not match its leaf of shape ", leaf.shape());
  if (!leaf_impl->grad) {
    if (can_become_grad(grad_output, leaf)) {
      leaf_impl->grad = grad_output.impl_ptr();
    } else {
      Tensor g = Tensor::empty(leaf.shape(), leaf.dtype());
      kernels::copy_elements(grad_output, g);
      leaf_impl->grad = g.impl_ptr();
    }
  } else {
    Tensor(leaf_impl->grad).add_(grad_output);
  }
  for (auto& hook : leaf_impl->grad_hooks) hook(leaf);
  return {};
}

const Tensor& SavedTensor::get() const {
  NABLA_CHECK(!tensor_.defined() || tensor_.version() == version_, op_,
              " backward: a tensor it saved was modified in place after the forward pass (version ", version_, " -> ",
              tensor_.version(), "); clone() it before changing it, or change it after backward()");
  return tensor_;
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  TensorImpl* impl = t.impl();
  if (auto existing = impl->grad_accumulator.lock()) return existing;
  auto acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
  impl->grad_accumulator = acc;
  return acc;
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

void record(const char* name, Tensor& output, const std::vector<Tensor>& inputs, BackwardFn backward) {
  std::vector<std::shared_ptr<Node>> next;
  next.reserve(inputs.size());
  for (const Tensor& t : inputs) next.push_back(gradient_edge(t));
  output.impl()->grad_fn = std::make_shared<Node>(name, std::move(next), std::move(backward));
  output.impl()->requires_grad = true;
}

}  // namespace nabla::autograd
