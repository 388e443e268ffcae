#include "nabla/nn/module.h"

#include <iomanip>
#include <set>
#include <sstream>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/kernels/copy.h"

namespace nabla::nn {

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

Tensor Module::forward(const Tensor&) {
  fail(type_name_, ": this module has no single-input forward(); call its own forward signature");
}

Tensor& Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  NABLA_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_, ": parameter name \"", name,
              "\" must be non-empty and contain no '.'");
  for (auto& [n, t] : parameters_) NABLA_CHECK(n != name, type_name_, ": parameter \"", name, "\" registered twice");
  if (tensor.defined() && requires_grad) tensor.requires_grad_();
  parameters_.emplace_back(name, tensor);
  return parameters_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor tensor) {
  NABLA_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_, ": buffer name \"", name,
              "\" must be non-empty and contain no '.'");
  buffers_.emplace_back(name, tensor);
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  NABLA_CHECK(module != nullptr, type_name_, ": sub-module \"", name, "\" is null");
  for (auto& [n, m] : children_) NABLA_CHECK(n != name, type_name_, ": sub-module \"", name, "\" registered twice");
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

namespace {
template <typename Get>
std::vector<std::pair<std::string, Tensor>> collect(const Module& m, bool recurse, Get get) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [name, t] : get(m))
    if (t.defined()) out.emplace_back(name, t);
  if (recurse)
    for (auto& [child_name, child] : m.named_children())
      for (auto& [name, t] : collect(*child, true, get)) out.emplace_back(child_name + "." + name, t);
  return out;
}
}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  return collect(*this, recurse, [](const Module& m) { return m.parameters_; });
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  return collect(*this, recurse, [](const Module& m) { return m.buffers_; });
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules(const std::string& prefix) const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (auto& [name, child] : children_) {
    std::string full = prefix.empty() ? name : prefix + "." + name;
    out.emplace_back(full, child);
    for (auto& entry : child->named_modules(full)) out.push_back(entry);
  }
  return out;
}

int64_t Module::parameter_count(bool trainable_only) const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters())
    if (!trainable_only || t.requires_grad()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (Tensor& t : parameters()) t.set_grad(Tensor());
}

void Module::requires_grad(bool on) {
  for (Tensor& t : parameters()) t.requires_grad_(on);
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : named_parameters()) out[name] = t.detach();
  for (auto& [name, t] : named_buffers()) out[name] = t.detach();
  return out;
}

Module::LoadResult Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  std::map<std::string, Tensor> own = state_dict();
  std::vector<std::string> missing, unexpected, mismatched;
  for (auto& [name, t] : own)
    if (!state.count(name)) missing.push_back(name);
  for (auto& [name, t] : state) {
    auto it = own.find(name);
    if (it == own.end())
      unexpected.push_back(name);
    else if (!(it->second.shape() == t.shape())) {
      std::ostringstream m;
      m << name << " (checkpoint " << t.shape() << ", model " << it->second.shape() << ")";
      mismatched.push_back(m.str());
    }
  }
  if (!mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()))) {
    std::ostringstream msg;
    msg << "load_state_dict into " << type_name_ << ": the state does not fit this architecture";
    auto list = [&](const char* what, const std::vector<std::string>& keys) {
      if (keys.empty()) return;
      msg << "\n  " << what << " (" << keys.size() << "):";
      for (const auto& k : keys) msg << " " << k;
    };
    list("missing keys", missing);
    list("unexpected keys", unexpected);
    list("shape mismatches", mismatched);
    throw Error(msg.str());
  }
  NoGradGuard no_grad;
  for (auto& [name, t] : own) {
    auto it = state.find(name);
    if (it == state.end()) continue;
    kernels::copy_elements(it->second.dtype() == t.dtype() ? it->second : it->second.to(t.dtype()), t);
    t.storage()->bump_version();
  }
  return {missing, unexpected};
}

std::string Module::summary() const {
  std::ostringstream out;
  const int w1 = 34, w2 = 14;
  out << "Model: \"" << type_name_ << "\"\n" << std::string(w1 + w2 + 14, '=') << "\n";
  out << std::left << std::setw(w1) << "Layer (type)" << std::right << std::setw(w2) << "Param #"
      << "\n";
  out << std::string(w1 + w2 + 14, '-') << "\n";
  // Leaves, like Keras, plus any container holding parameters of its own (MultiheadAttention's
  // in_proj), counted without its children's so the rows add up to the total.
  auto row = [&](const std::string& name, const Module& m) {
    const bool leaf = m.children_.empty();
    int64_t own = 0;
    for (auto& [_, p] : m.parameters_) own += p.numel();
    if (!leaf && own == 0) return;
    out << std::left << std::setw(w1) << name + " (" + m.type_name() + ")" << std::right << std::setw(w2)
        << with_commas(leaf ? m.parameter_count() : own) << "\n";
  };
  row("(root)", *this);
  for (auto& [name, child] : named_modules()) row(name, *child);
  out << std::string(w1 + w2 + 14, '=') << "\n";
  out << "Total params: " << with_commas(parameter_count())
      << "\nTrainable params: " << with_commas(parameter_count(true))
      << "\nNon-trainable params: " << with_commas(parameter_count() - parameter_count(true)) << "\n";
  return out.str();
}

}  // namespace nabla::nn
