#include "nabla/nn/sequential.h"

#include <iomanip>
#include <sstream>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"

namespace nabla::nn {

Sequential::Sequential(std::initializer_list<ModulePtr> layers) : Module("Sequential") {
  for (const ModulePtr& layer : layers) add(layer);
}

Sequential& Sequential::add(ModulePtr layer) {
  add_child(std::to_string(size()), std::move(layer));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& [name, layer] : named_children()) h = layer->forward(h);
  return h;
}

std::string Sequential::summary(const Shape& input_shape) const {
  NoGradGuard no_grad;
  std::ostringstream out;
  const int w1 = 30, w2 = 22, w3 = 12, width = w1 + w2 + w3;
  out << "Model: \"Sequential\"\n" << std::string(width, '=') << "\n"
      << std::left << std::setw(w1) << "Layer (type)" << std::setw(w2) << "Output Shape" << std::right << std::setw(w3)
      << "Param #" << "\n" << std::string(width, '-') << "\n";
  // Shapes come from a real forward pass of zeros, so they are exactly what the layers produce.
  bool was_training = is_training();
  const_cast<Sequential*>(this)->eval();
  Tensor h = zeros(input_shape);
  for (auto& [name, layer] : named_children()) {
    std::string shape_text = "?";
    if (input_shape.size() > 0) {
      if (layer->type_name() == "Embedding") h = h.to(DType::i64);
      h = layer->forward(h);
      std::ostringstream s;
      s << h.shape();
      shape_text = s.str();
    }
    out << std::left << std::setw(w1) << (name + " (" + layer->type_name() + ")") << std::setw(w2) << shape_text
        << std::right << std::setw(w3) << with_commas(layer->parameter_count()) << "\n";
  }
  const_cast<Sequential*>(this)->train(was_training);
  out << std::string(width, '=') << "\nTotal params: " << with_commas(parameter_count())
      << "\nTrainable params: " << with_commas(parameter_count(true))
      << "\nNon-trainable params: " << with_commas(parameter_count() - parameter_count(true)) << "\n";
  return out.str();
}

}  // namespace nabla::nn
