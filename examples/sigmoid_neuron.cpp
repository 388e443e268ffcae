// The articles' first network: one sigmoid neuron with 3 inputs, trained by plain stochastic
// gradient descent on the mean squared error. It learns that the output copies the first input.
#include <cstdio>
#include <sstream>

#include "nabla/nabla.h"

using namespace nabla;

int main() {
  manual_seed(1);
  // Four examples of 3 features; the label is the first feature.
  Tensor x = tensor({0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1}, {4, 3});
  Tensor y = tensor({0, 1, 1, 0}, {4, 1});
  Tensor w = uniform({3, 1}, -1, 1).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  const double lr = 1.0;

  for (int epoch = 1; epoch <= 2000; ++epoch) {
    for (int64_t i = 0; i < 4; ++i) {  // one example per step: stochastic gradient descent
      Tensor prediction = sigmoid(add(matmul(x.narrow(0, i, 1), w), b));
      Tensor loss = mse_loss(prediction, y.narrow(0, i, 1));
      loss.backward();
      NoGradGuard no_grad;
      w.add_(w.grad(), -lr);
      b.add_(b.grad(), -lr);
      w.grad().zero_();
      b.grad().zero_();
    }
    if (epoch % 500 == 0) {
      NoGradGuard no_grad;
      float loss = mse_loss(sigmoid(add(matmul(x, w), b)), y).item();
      std::printf("epoch %4d  mse %.6f\n", epoch, loss);
    }
  }
  NoGradGuard no_grad;
  Tensor unseen = tensor({1, 0, 0}, {1, 3});
  std::printf("weights %s\n", (std::ostringstream() << w.reshape({3})).str().c_str());
  std::printf("prediction for the unseen input [1, 0, 0]: %.4f (the rule says 1)\n",
              sigmoid(add(matmul(unseen, w), b)).item());
  return 0;
}
