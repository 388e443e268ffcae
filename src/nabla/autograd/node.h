// A node of the autograd graph: the backward rule of one op application. It holds edges to
// the nodes of its inputs and a closure with whatever the rule saved from the forward pass.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla::autograd {

// Given the gradient of the op's output, returns one gradient per input (undefined = none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

class Node {
 public:
  Node(std::string name, std::vector<std::shared_ptr<Node>> next, BackwardFn backward)
      : name_(std::move(name)), next_(std::move(next)), backward_(std::move(backward)) {}
  virtual ~Node() = default;

  const std::string& name() const { return name_; }
  const std::vector<std::shared_ptr<Node>>& next() const { return next_; }
  virtual std::vector<Tensor> apply(const Tensor& grad_output);
  // Drops saved tensors and edges once backward has used them.
  void release();

 protected:
  std::string name_;
  std::vector<std::shared_ptr<Node>> next_;
  BackwardFn backward_;
};

// The sink for a leaf: adds incoming gradients into leaf.grad, then runs its hooks.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf);
  std::vector<Tensor> apply(const Tensor& grad_output) override;

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// A tensor saved for backward, with the storage version it had, so backward can refuse to use
// it after an in-place change. It keeps a detached view: saving an op's own output with its
// grad_fn would make a cycle (node -> output -> node) that leaks every graph never backpropagated.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, const char* op)
      : tensor_(t.defined() ? t.detach() : t), version_(t.defined() ? t.version() : 0), op_(op) {}
  const Tensor& get() const;

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
  const char* op_ = "";
};

// The node gradients for `t` flow into: its grad_fn, its leaf accumulator, or null.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

// True when grad mode is on and any input requires grad.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Records `output` as produced by op `name` from `inputs`, with the given backward rule.
void record(const char* name, Tensor& output, const std::vector<Tensor>& inputs, BackwardFn backward);

}  // namespace nabla::autograd
