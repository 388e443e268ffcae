// A multi-layer perceptron (784-256-256-10, ReLU) trained on the real Fashion-MNIST images with
// mini-batch SGD + momentum, written directly against tensors and autograd.
// Usage: mlp_fashion [epochs] [data_dir]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nabla/nabla.h"

using namespace nabla;

namespace {

struct Layer {
  Tensor weight, bias, velocity_w, velocity_b;
  // PyTorch's Linear default: U(-1/sqrt(in), 1/sqrt(in)).
  Layer(int64_t in, int64_t out)
      : weight(uniform({out, in}, -1 / std::sqrt(double(in)), 1 / std::sqrt(double(in))).requires_grad_()),
        bias(uniform({out}, -1 / std::sqrt(double(in)), 1 / std::sqrt(double(in))).requires_grad_()),
        velocity_w(zeros({out, in})),
        velocity_b(zeros({out})) {}
};

Tensor forward(std::vector<Layer>& layers, Tensor x) {
  for (size_t i = 0; i < layers.size(); ++i) {
    x = linear(x, layers[i].weight, layers[i].bias);
    if (i + 1 < layers.size()) x = relu(x);
  }
  return x;
}

double accuracy(std::vector<Layer>& layers, const data::FashionMnist& set) {
  NoGradGuard no_grad;
  int64_t correct = 0, n = set.labels.numel();
  for (int64_t start = 0; start < n; start += 1000) {
    int64_t len = std::min<int64_t>(1000, n - start);
    Tensor logits = forward(layers, set.images.narrow(0, start, len).reshape({len, 784}));
    correct += sum(eq(argmax(logits, 1), set.labels.narrow(0, start, len)).to(DType::f32)).item<int64_t>();
  }
  return double(correct) / double(n);
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::string dir = argc > 2 ? argv[2] : data::default_fashion_mnist_dir();
  try {
    manual_seed(0);
    data::FashionMnist train = data::load_fashion_mnist("train", dir), test = data::load_fashion_mnist("test", dir);
    std::printf("Fashion-MNIST: %lld training and %lld test images, %d threads\n", (long long)train.labels.numel(),
                (long long)test.labels.numel(), num_threads());
    std::vector<Layer> layers{Layer(784, 256), Layer(256, 256), Layer(256, 10)};
    const int64_t batch = 128, n = train.labels.numel();
    const double lr = 0.05, momentum = 0.9;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      auto start = std::chrono::steady_clock::now();
      Tensor order = randperm(n);
      double loss_sum = 0;
      int64_t steps = 0;
      for (int64_t s = 0; s + batch <= n; s += batch, ++steps) {
        Tensor idx = order.narrow(0, s, batch);
        Tensor x = index_select(train.images, 0, idx).reshape({batch, 784});
        Tensor loss = cross_entropy(forward(layers, x), index_select(train.labels, 0, idx));
        loss.backward();
        loss_sum += loss.item();
        NoGradGuard no_grad;
        for (Layer& l : layers) {
          // PyTorch's SGD momentum: v = m v + g; p -= lr v
          l.velocity_w.mul_(momentum).add_(l.weight.grad());
          l.velocity_b.mul_(momentum).add_(l.bias.grad());
          l.weight.add_(l.velocity_w, -lr);
          l.bias.add_(l.velocity_b, -lr);
          l.weight.grad().zero_();
          l.bias.grad().zero_();
        }
      }
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("epoch %d/%d  loss %.4f  test accuracy %.2f%%  (%.1fs, %.0f images/s)\n", epoch, epochs,
                  loss_sum / double(steps), 100 * accuracy(layers, test), seconds, double(steps * batch) / seconds);
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
