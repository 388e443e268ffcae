#include "nabla/models/keras_init.h"

#include "nabla/autograd/grad_mode.h"
#include "nabla/nn/conv.h"
#include "nabla/nn/embedding.h"
#include "nabla/nn/init.h"
#include "nabla/nn/linear.h"
#include "nabla/nn/rnn.h"

namespace nabla::models {

void apply_keras_initializers(nn::Module& root) {
  NoGradGuard no_grad;
  std::vector<std::shared_ptr<nn::Module>> modules;
  for (auto& [name, m] : root.named_modules()) modules.push_back(m);
  for (const std::shared_ptr<nn::Module>& m : modules) {
    if (auto* linear = dynamic_cast<nn::Linear*>(m.get())) {
      nn::init::xavier_uniform_(linear->weight);
      if (linear->bias.defined()) nn::init::zeros_(linear->bias);
    } else if (auto* conv = dynamic_cast<nn::Conv2d*>(m.get())) {
      nn::init::xavier_uniform_(conv->weight);
      if (conv->bias.defined()) nn::init::zeros_(conv->bias);
    } else if (auto* embedding = dynamic_cast<nn::Embedding*>(m.get())) {
      nn::init::uniform_(embedding->weight, -0.05, 0.05);
    } else if (auto* rnn = dynamic_cast<nn::RecurrentBase*>(m.get())) {
      const int64_t hidden = rnn->hidden_size;
      for (int64_t layer = 0; layer < rnn->options.num_layers; ++layer)
        for (bool reverse : {false, true}) {
          if (reverse && rnn->num_directions() == 1) continue;
          nn::RecurrentBase::Weights w = rnn->weights(layer, reverse);  // handles onto the parameters
          nn::init::xavier_uniform_(w.w_ih);
          nn::init::orthogonal_(w.w_hh);
          if (w.b_ih.defined()) nn::init::zeros_(w.b_ih);
          if (w.b_hh.defined()) nn::init::zeros_(w.b_hh);
          // Keras' unit_forget_bias: the forget gate starts open (PyTorch's gate order i, f, g, o).
          if (rnn->cell == nabla::RecurrentCell::lstm && w.b_ih.defined()) w.b_ih.narrow(0, hidden, hidden).fill_(1.0);
        }
    }
  }
}

}  // namespace nabla::models
