// Models learn on the real data: a small MLP trained briefly on Fashion-MNIST must beat chance
// by a wide margin. Uses the Debian dataset-fashion-mnist files that `make test` installs.
#include <gtest/gtest.h>

#include <cmath>

#include "nabla/nabla.h"

using namespace nabla;

TEST(MlpLearns, FashionMnistSubset) {
  manual_seed(3);
  data::FashionMnist train = data::load_fashion_mnist("train", data::default_fashion_mnist_dir(), 8000);
  data::FashionMnist test = data::load_fashion_mnist("test", data::default_fashion_mnist_dir(), 2000);
  const double bound1 = 1 / std::sqrt(784.0), bound2 = 1 / std::sqrt(128.0);
  Tensor w1 = uniform({128, 784}, -bound1, bound1).requires_grad_(), b1 = zeros({128}).requires_grad_();
  Tensor w2 = uniform({10, 128}, -bound2, bound2).requires_grad_(), b2 = zeros({10}).requires_grad_();
  auto forward = [&](const Tensor& x) { return linear(relu(linear(x.reshape({-1, 784}), w1, b1)), w2, b2); };

  const int64_t batch = 64;
  double first_loss = 0, last_loss = 0;
  for (int epoch = 0; epoch < 2; ++epoch) {
    for (int64_t s = 0; s + batch <= 8000; s += batch) {
      Tensor loss = cross_entropy(forward(train.images.narrow(0, s, batch)), train.labels.narrow(0, s, batch));
      loss.backward();
      if (epoch == 0 && s == 0) first_loss = loss.item();
      last_loss = loss.item();
      NoGradGuard no_grad;
      for (Tensor* p : {&w1, &b1, &w2, &b2}) {
        p->add_(p->grad(), -0.1);
        p->grad().zero_();
      }
    }
  }
  NoGradGuard no_grad;
  double accuracy = mean(eq(argmax(forward(test.images), 1), test.labels).to(DType::f32)).item();
  EXPECT_NEAR(first_loss, std::log(10.0), 0.3);  // starts at chance
  EXPECT_LT(last_loss, 0.8);
  EXPECT_GT(accuracy, 0.78) << "test accuracy " << accuracy;
}
