// LeNet-5 on Fashion-MNIST, written PyTorch-style: a module, a loss, backward(), optimizer.step(),
// with SGD + momentum 0.9 as in the articles. Inputs are padded to 32x32 like the original.
// Usage: lenet [epochs] [data_dir]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nabla/nabla.h"

using namespace nabla;

namespace {

class LeNet5 : public nn::Module {
 public:
  LeNet5() : Module("LeNet5") {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(1, 6, 5, nn::Conv2dOptions{{1, 1}, {2, 2}}));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(6, 16, 5));
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(16 * 5 * 5, 120));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(120, 84));
    fc3 = register_module("fc3", std::make_shared<nn::Linear>(84, 10));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = max_pool2d(relu(conv1->forward(x)), {{2, 2}});
    h = max_pool2d(relu(conv2->forward(h)), {{2, 2}});
    h = relu(fc1->forward(h.flatten(1)));
    h = relu(fc2->forward(h));
    return fc3->forward(h);
  }
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::Linear> fc1, fc2, fc3;
};

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 3;
  const std::string dir = argc > 2 ? argv[2] : data::default_fashion_mnist_dir();
  try {
    manual_seed(7);
    data::FashionMnist train = data::load_fashion_mnist("train", dir), test = data::load_fashion_mnist("test", dir);
    LeNet5 net;
    optim::SGD optimizer(net.parameters(), optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
    const int64_t batch = 64, n = train.labels.numel();
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      auto start = std::chrono::steady_clock::now();
      net.train();
      Tensor order = randperm(n);
      double loss_sum = 0;
      int64_t steps = 0;
      for (int64_t s = 0; s + batch <= n; s += batch, ++steps) {
        Tensor idx = order.narrow(0, s, batch);
        Tensor loss =
            cross_entropy(net.forward(index_select(train.images, 0, idx)), index_select(train.labels, 0, idx));
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        loss_sum += loss.item();
      }
      net.eval();
      NoGradGuard no_grad;
      double correct = 0;
      for (int64_t s = 0; s < test.labels.numel(); s += 1000) {
        Tensor logits = net.forward(test.images.narrow(0, s, 1000));
        correct += sum(eq(argmax(logits, 1), test.labels.narrow(0, s, 1000)).to(DType::f32)).item();
      }
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("epoch %d/%d  loss %.4f  test accuracy %.2f%%  (%.1fs)\n", epoch, epochs, loss_sum / double(steps),
                  100 * correct / double(test.labels.numel()), seconds);
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
