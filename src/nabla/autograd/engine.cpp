#include "nabla/autograd/engine.h"

#include <unordered_map>

#include "nabla/autograd/grad_mode.h"
#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/kernels/elementwise.h"

namespace nabla::autograd {
namespace {

// Backward passes running on this thread (a checkpointed block runs one inside another) and the
// callbacks waiting for the outermost to end.
thread_local int backward_depth = 0;
thread_local std::vector<std::function<void()>> end_callbacks;

struct DepthScope {
  DepthScope() { ++backward_depth; }
  ~DepthScope() {
    if (--backward_depth == 0) end_callbacks.clear();  // left by an exception: drop them
  }
};

void run_graph(const Tensor& root, const Tensor& gradient);

}  // namespace

void queue_callback(std::function<void()> callback) {
  NABLA_CHECK(backward_depth > 0, "queue_callback: no backward pass is running on this thread");
  end_callbacks.push_back(std::move(callback));
}

void run_backward(const Tensor& root, const Tensor& gradient) {
  DepthScope depth;
  run_graph(root, gradient);
  if (backward_depth == 1)
    while (!end_callbacks.empty()) {  // a callback may queue another
      std::function<void()> callback = std::move(end_callbacks.front());
      end_callbacks.erase(end_callbacks.begin());
      callback();
    }
}

namespace {

void run_graph(const Tensor& root, const Tensor& gradient) {
  NABLA_CHECK(root.defined(), "backward: called on an undefined tensor");
  NABLA_CHECK(root.requires_grad(),
              "backward: the tensor does not require grad and has no grad_fn; "
              "call requires_grad_() on the inputs you want gradients for");
  Tensor seed = gradient;
  if (!seed.defined()) {
    NABLA_CHECK(root.numel() == 1, "backward: the output has shape ", root.shape(),
                "; gradients can be created implicitly only for scalar outputs, pass a gradient of that shape");
    seed = ones(root.shape());
  }
  NABLA_CHECK(seed.shape() == root.shape(), "backward: gradient of shape ", seed.shape(),
              " given for an output of shape ", root.shape());

  NoGradGuard no_grad;
  std::shared_ptr<Node> root_node = gradient_edge(root);

  // Count, for each node, how many edges point at it from nodes reachable from the root.
  std::unordered_map<Node*, int> pending;
  std::vector<Node*> stack{root_node.get()};
  pending[root_node.get()] = 0;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const auto& next : node->next()) {
      if (!next) continue;
      auto [it, inserted] = pending.try_emplace(next.get(), 0);
      it->second++;
      if (inserted) stack.push_back(next.get());
    }
  }

  // Kahn's algorithm: a node runs once every consumer has delivered its gradient.
  std::unordered_map<Node*, Tensor> grads;
  grads[root_node.get()] = seed;
  std::vector<std::shared_ptr<Node>> ready{root_node};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    // A node reached only through branches that produced no gradient still releases its inputs.
    auto found = grads.find(node.get());
    std::vector<Tensor> input_grads;
    if (found != grads.end()) {
      Tensor grad_output = std::move(found->second);
      grads.erase(found);
      profiler::Scope scope(node->name().c_str(), true);
      input_grads = node->apply(grad_output);
    }
    const auto& next = node->next();
    for (size_t i = 0; i < next.size(); ++i) {
      Node* target = next[i].get();
      if (!target) continue;
      if (i < input_grads.size() && input_grads[i].defined()) {
        auto [it, inserted] = grads.try_emplace(target, input_grads[i]);
        if (!inserted) it->second = kernels::add(it->second, input_grads[i]);
      }
      if (--pending[target] == 0) ready.push_back(next[i]);
    }
    node->release();
  }
}

}  // namespace
}  // namespace nabla::autograd

namespace nabla {
void Tensor::backward(const Tensor& gradient) const { autograd::run_backward(*this, gradient); }
}  // namespace nabla
