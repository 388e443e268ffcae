#include "nabla/nn/sequential.h"

#include <iomanip>
#include <sstream>
#include <typeinfo>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/nn/activation.h"
#include "nabla/nn/conv.h"

namespace nabla::nn {

Sequential::Sequential(std::initializer_list<ModulePtr> layers) : Module("Sequential") {
  for (const ModulePtr& layer : layers) add(layer);
}

Sequential& Sequential::add(ModulePtr layer) {
  add_child(std::to_string(size()), std::move(layer));
  return *this;
}

namespace {
bool is_relu_then_max_pool(const Module& layer, const Module& next) {
  return typeid(layer) == typeid(ReLU) && typeid(next) == typeid(MaxPool2d);
}
}  // namespace

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  const auto layers = named_children();
  for (size_t i = 0; i < layers.size(); ++i) {
    // ReLU then MaxPool2d (every CNN here) runs as one fused op; the result is the same.
    if (i + 1 < layers.size() && is_relu_then_max_pool(*layers[i].second, *layers[i + 1].second)) {
      h = relu_max_pool2d(h, static_cast<const MaxPool2d&>(*layers[++i].second).options);
      continue;
    }
    h = layers[i].second->forward(h);
  }
  return h;
}

std::string Sequential::summary(const Shape& input_shape) const {
  NoGradGuard no_grad;
  std::ostringstream out;
  const int w1 = 30, w2 = 22, w3 = 12, width = w1 + w2 + w3;
  out << "Model: \"Sequential\"\n"
      << std::string(width, '=') << "\n"
      << std::left << std::setw(w1) << "Layer (type)" << std::setw(w2) << "Output Shape" << std::right << std::setw(w3)
      << "Param #"
      << "\n"
      << std::string(width, '-') << "\n";
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
