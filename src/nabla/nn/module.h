// Module: the base of every layer and model. It owns named parameters, buffers (state that is
// saved but not trained, like BatchNorm's running statistics) and sub-modules, and names them
// the way PyTorch does ("features.0.weight"), so state dicts move between the two unchanged.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla::nn {

class Module : public std::enable_shared_from_this<Module> {
 public:
  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The one-input forward most layers have; modules with other signatures add their own.
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  const std::string& type_name() const { return type_name_; }
  // One line describing the configuration, e.g. "in_features=784, out_features=10".
  virtual std::string extra_repr() const { return ""; }

  // Registration, as in libtorch. Returns the stored handle.
  Tensor& register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  Tensor& register_buffer(const std::string& name, Tensor tensor);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // Recursive, in registration order, with dotted names.
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules(const std::string& prefix = "") const;
  int64_t parameter_count(bool trainable_only = false) const;

  // Training mode changes dropout and batch norm; propagates to children.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();  // drops gradients (PyTorch's set_to_none default)
  // Freezing for transfer learning: parameters stop requiring gradients.
  void requires_grad(bool on);

  // Parameters and buffers by dotted name.
  std::map<std::string, Tensor> state_dict() const;
  struct LoadResult {
    std::vector<std::string> missing_keys, unexpected_keys;
  };
  // Copies values in. Strict: every missing, unexpected or mis-shaped key is listed in one error.
  // Non-strict (transfer learning: a new head on a pretrained body) loads the matching keys and
  // returns the rest; mis-shaped keys are always an error. On error nothing is changed.
  LoadResult load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  // Keras-like table of the leaf layers and their parameter counts (Sequential adds output shapes).
  std::string summary() const;

 protected:
  void add_child(const std::string& name, std::shared_ptr<Module> module);

 private:
  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

using ModulePtr = std::shared_ptr<Module>;

// 225034 -> "225,034", as Keras prints parameter counts.
std::string with_commas(int64_t n);

}  // namespace nabla::nn
