// Keras' default initialisers, for models that should start where the articles' Keras programs
// start (model.init "keras"): Dense and convolution kernels glorot-uniform, biases zero,
// embeddings uniform in [-0.05, 0.05], recurrent layers' input kernels glorot-uniform and
// recurrent kernels orthogonal, LSTM forget-gate biases 1 (unit_forget_bias). PyTorch's
// defaults (what layers are built with) stay the default.
#pragma once
#include "nabla/nn/module.h"

namespace nabla::models {

// Re-initialises every Linear, Conv2d, Embedding, RNN, LSTM and GRU inside `module`, in
// named_modules order (seeded by the global generator); other parameters are left as they are.
void apply_keras_initializers(nn::Module& module);

}  // namespace nabla::models
