// The articles' Keras-style CNN on Fashion-MNIST: Conv 32 3x3 -> MaxPool -> Conv 64 3x3 ->
// MaxPool -> Flatten -> Dense 128 -> Dense 10, Adam, sparse categorical cross-entropy.
// Usage: fashion_cnn [epochs] [data_dir]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nabla/nabla.h"

using namespace nabla;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 2;
  const std::string dir = argc > 2 ? argv[2] : data::default_fashion_mnist_dir();
  try {
    manual_seed(42);
    data::FashionMnist train_set = data::load_fashion_mnist("train", dir),
                       test_set = data::load_fashion_mnist("test", dir);
    auto network = std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
        std::make_shared<nn::Conv2d>(1, 32, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
        std::make_shared<nn::Conv2d>(32, 64, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
        std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(1600, 128), std::make_shared<nn::ReLU>(),
        std::make_shared<nn::Linear>(128, 10)});
    std::printf("%s", network->summary({1, 1, 28, 28}).c_str());

    train::Model model(network);
    model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
    train::FitOptions options;
    options.epochs = epochs;
    options.batch_size = 32;
    options.validation_split = 0.1;
    train::History history = model.fit(train_set.images, train_set.labels, options);

    train::Logs result = model.evaluate(test_set.images, test_set.labels, 256);
    std::printf("test accuracy: %.2f%%  test loss: %.4f\n", 100 * result["accuracy"], result["loss"]);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
