// The articles' TensorFlow listing, line for line: one sigmoid neuron with 3 inputs
//   model = Sequential([Dense(1, input_shape=(3,), activation='sigmoid')])
//   model.compile(optimizer=SGD(learning_rate=0.1), loss='mean_squared_error')
//   model.fit(X, y, epochs=1000)            # X = [[1,2,3],[4,5,6],[7,8,9]], y = [1,0,1]
//   model.predict([[10, 11, 12]])
// Keras starts Dense from glorot-uniform weights and a zero bias; so does this program.
// Usage: sigmoid_neuron [initial_weights.safetensors]   (to start from given weights instead)
#include <cstdio>
#include <string>

#include "nabla/nabla.h"

using namespace nabla;

namespace {

void print_weights(const char* when, nn::Module& network) {
  auto state = network.state_dict();
  const Tensor& w = state.at("0.weight");
  std::printf("%s weights [%.6f, %.6f, %.6f]  bias %.6f\n", when, w.at({0, 0}), w.at({0, 1}), w.at({0, 2}),
              state.at("0.bias").item());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    manual_seed(1);
    Tensor x = tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
    Tensor y = tensor({1, 0, 1}, {3, 1});
    auto network = std::make_shared<nn::Sequential>(
        std::initializer_list<nn::ModulePtr>{std::make_shared<nn::Linear>(3, 1), std::make_shared<nn::Sigmoid>()});
    models::apply_keras_initializers(*network);  // glorot-uniform kernel, zero bias
    if (argc > 1) network->load_state_dict(io::load_safetensors(argv[1]).tensors);
    print_weights("initial", *network);

    train::Model model(network);
    model.compile(std::make_shared<optim::SGD>(network->parameters(), optim::SGDOptions{.lr = 0.1}),
                  train::make_loss("mse"));
    train::FitOptions options;
    options.epochs = 1000;  // Keras' default batch of 32 holds all 3 examples: one step per epoch
    options.verbose = 0;
    train::History history = model.fit(x, y, options);
    std::printf("loss after epoch 1: %.6f  after epoch 1000: %.6f\n", history["loss"].front(), history["loss"].back());
    print_weights("trained", *network);

    Tensor prediction = model.predict(tensor({10, 11, 12}, {1, 3}));
    std::printf("prediction for [10, 11, 12]: %.6f\n", prediction.item());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
