// Sequential: layers applied in order; children are named "0", "1", ... as in PyTorch.
#pragma once
#include <initializer_list>

#include "nabla/nn/module.h"

namespace nabla::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<ModulePtr> layers);
  Sequential& add(ModulePtr layer);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return named_children().size(); }
  ModulePtr operator[](size_t i) const { return named_children().at(i).second; }
  // Keras-style table with each layer's output shape for an input of `input_shape` (batch first).
  std::string summary(const Shape& input_shape) const;
  using Module::summary;  // the shape-less table stays callable (a same-named overload would hide it)
};

}  // namespace nabla::nn
