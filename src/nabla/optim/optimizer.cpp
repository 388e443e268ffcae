#include "nabla/optim/optimizer.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>
#include <sstream>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"

namespace nabla::optim {

double ParamGroup::option(const std::string& name) const {
  if (name == "lr") return lr;
  if (name == "weight_decay") return weight_decay;
  auto it = options.find(name);
  NABLA_CHECK(it != options.end(), "parameter group has no option \"", name, "\"");
  return it->second;
}

// ----------------------------------------------------------------------------- scalar encoding

Tensor encode_double(double value) {
  Tensor t = Tensor::empty({}, DType::f64);
  *t.data<double>() = value;
  return t;
}

double decode_double(const Tensor& t, const std::string& key) {
  NABLA_CHECK(t.defined() && t.numel() == 1, key, ": expected a one-element tensor, got ",
              t.defined() ? t.shape() : Shape{});
  if (t.dtype() == DType::f64) return *t.contiguous().data<double>();
  // Checkpoints before F64: the double's bit pattern in an i64 (not item(): exact bits).
  if (t.dtype() == DType::i64) return std::bit_cast<double>(*t.contiguous().data<int64_t>());
  if (t.dtype() == DType::f32) return t.item<float>();
  fail(key, ": expected an f64 scalar (or an i64 double bit pattern, as older checkpoints hold, or an f32), got ",
       dtype_name(t.dtype()));
}

Tensor encode_int(int64_t value) {
  Tensor t = Tensor::empty({}, DType::i64);
  *t.data<int64_t>() = value;
  return t;
}

int64_t decode_int(const Tensor& t, const std::string& key) {
  NABLA_CHECK(t.defined() && t.numel() == 1, key, ": expected a one-element tensor, got ",
              t.defined() ? t.shape() : Shape{});
  if (t.dtype() == DType::i64) return *t.contiguous().data<int64_t>();
  if (t.dtype() == DType::i32) return *t.contiguous().data<int32_t>();
  if (t.dtype() == DType::f32) {
    const float v = t.item<float>();
    NABLA_CHECK(std::floor(v) == v, key, ": expected a whole number, got ", v);
    return int64_t(v);
  }
  fail(key, ": expected an integer scalar, got ", dtype_name(t.dtype()));
}

void throw_if_state_mismatch(const std::string& what, const std::vector<std::string>& missing,
                             const std::vector<std::string>& unexpected, const std::vector<std::string>& mismatched,
                             const std::vector<std::string>& invalid) {
  if (missing.empty() && unexpected.empty() && mismatched.empty() && invalid.empty()) return;
  std::ostringstream msg;
  msg << what;
  auto list = [&](const char* title, const std::vector<std::string>& items, const char* separator) {
    if (items.empty()) return;
    msg << "\n  " << title << " (" << items.size() << "):";
    for (const auto& item : items) msg << separator << item;
  };
  list("missing keys", missing, " ");
  list("unexpected keys", unexpected, " ");
  list("shape mismatches", mismatched, " ");
  list("invalid values", invalid, "\n    ");
  throw Error(msg.str());
}

// ----------------------------------------------------------------------------- construction

Optimizer::Optimizer(std::string name, std::map<std::string, double> defaults)
    : name_(std::move(name)), defaults_(std::move(defaults)) {}

void Optimizer::add_initial_groups(std::vector<ParamGroup> groups) {
  NABLA_CHECK(!groups.empty(), name_, ": got no parameter groups; pass the model's parameters()");
  for (ParamGroup& group : groups) add_param_group(std::move(group));
}

void Optimizer::fill_defaults(ParamGroup& group) const {
  if (std::isnan(group.lr)) group.lr = defaults_.at("lr");
  if (std::isnan(group.weight_decay)) group.weight_decay = defaults_.at("weight_decay");
  for (auto& [key, value] : group.options) {
    NABLA_CHECK(defaults_.count(key) && key != "lr" && key != "weight_decay", name_, ": unknown option \"", key,
                "\" in a parameter group");
  }
  for (auto& [key, value] : defaults_)
    if (key != "lr" && key != "weight_decay" && !group.options.count(key)) group.options[key] = value;
}

void Optimizer::add_param_group(ParamGroup group) {
  const size_t index = groups_.size();
  NABLA_CHECK(!group.params.empty(), name_, ": parameter group ", index,
              " is empty; an optimizer needs at least one parameter per group");
  std::set<const TensorImpl*> seen;
  for (const ParamGroup& other : groups_)
    for (const Tensor& p : other.params) seen.insert(p.impl());
  for (size_t i = 0; i < group.params.size(); ++i) {
    const Tensor& p = group.params[i];
    NABLA_CHECK(p.defined(), name_, ": parameter ", i, " of group ", index, " is an undefined tensor");
    NABLA_CHECK(p.is_leaf(), name_, ": parameter ", i, " of group ", index,
                " is not a leaf (it was computed by an op); optimize the tensor it came from, or detach() it");
    NABLA_CHECK(seen.insert(p.impl()).second, name_, ": parameter ", i, " of group ", index,
                " appears more than once among the optimizer's parameter groups");
  }
  fill_defaults(group);
  check_options(group);
  groups_.push_back(std::move(group));
  state_.emplace_back(groups_.back().params.size());
}

const ParamState& Optimizer::state(size_t group, size_t index) const {
  NABLA_CHECK(group < state_.size() && index < state_[group].size(), name_, ": no parameter ", index, " in group ",
              group);
  return state_[group][index];
}

void Optimizer::check_option(bool ok, const char* option, double value, const char* rule) const {
  if (!ok) fail(name_, ": invalid ", option, " = ", value, ": ", rule);
}

Tensor& Optimizer::buffer(ParamState& state, const Tensor& param, const std::string& name, double initial_value) {
  auto it = state.buffers.find(name);
  if (it == state.buffers.end()) it = state.buffers.emplace(name, full(param.shape(), initial_value)).first;
  return it->second;
}

// ----------------------------------------------------------------------------- stepping

void Optimizer::check_group(const ParamGroup& group, size_t index) const {
  try {
    check_options(group);
  } catch (const Error& e) {
    fail(e.what(), " (parameter group ", index, ")");
  }
}

void Optimizer::step() {
  NoGradGuard no_grad;
  state_.resize(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    check_group(group, g);  // lr and options may have been changed since the last step
    state_[g].resize(group.params.size());
    for (size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& param = group.params[i];
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      NABLA_CHECK(param.dtype() == DType::f32 && grad.dtype() == DType::f32, name_, ": parameter ", i, " of group ", g,
                  " and its gradient must be f32, got ", dtype_name(param.dtype()), " and ", dtype_name(grad.dtype()));
      NABLA_CHECK(grad.shape() == param.shape(), name_, ": the gradient of parameter ", i, " of group ", g,
                  " has shape ", grad.shape(), " but the parameter has shape ", param.shape());
      NABLA_CHECK(param.is_contiguous(), name_, ": parameter ", i, " of group ", g,
                  " is not contiguous; optimizers update parameters in place, so register contiguous tensors");
      ParamState& state = state_[g][i];
      if (counts_steps()) ++state.step;
      update(group, param, grad.contiguous(), state);
      param.storage()->bump_version();
    }
  }
}

void Optimizer::zero_grad() {
  for (ParamGroup& group : groups_)
    for (Tensor& p : group.params) p.set_grad(Tensor());
}

// ----------------------------------------------------------------------------- state dicts

namespace {

std::string group_key(size_t g, const std::string& name) { return "group." + std::to_string(g) + "." + name; }
std::string state_key(size_t g, size_t i, const std::string& name) {
  return "state." + std::to_string(g) + "." + std::to_string(i) + "." + name;
}

// Parses a decimal index; false for anything else ("01" included, so keys map one to one).
bool parse_index(const std::string& text, size_t& out) {
  if (text.empty() || text.size() > 9 || (text.size() > 1 && text[0] == '0')) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  out = std::stoul(text);
  return true;
}

std::vector<std::string> split_dots(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(key.substr(start, dot - start));
  parts.push_back(key.substr(start));
  return parts;
}

}  // namespace

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> out;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    out[group_key(g, "lr")] = encode_double(group.lr);
    out[group_key(g, "weight_decay")] = encode_double(group.weight_decay);
    for (auto& [key, value] : group.options) out[group_key(g, key)] = encode_double(value);
    out[group_key(g, "num_params")] = encode_int(int64_t(group.params.size()));
    if (g >= state_.size()) continue;
    for (size_t i = 0; i < state_[g].size() && i < group.params.size(); ++i) {
      const ParamState& state = state_[g][i];
      if (state.empty()) continue;
      for (auto& [name, t] : state.buffers) out[state_key(g, i, name)] = t;
      if (counts_steps()) out[state_key(g, i, "step")] = encode_int(state.step);
    }
  }
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& dict) {
  std::vector<std::string> missing, unexpected, mismatched, invalid;
  auto mismatch = [&](const std::string& key, const auto& got, const auto& want) {
    std::ostringstream m;
    m << key << " (state dict " << got << ", optimizer " << want << ")";
    mismatched.push_back(m.str());
  };

  // Hyper-parameters: every key this optimizer has, and no others.
  std::vector<ParamGroup> groups = groups_;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<std::string> names = {"lr", "weight_decay"};
    for (auto& [key, value] : groups[g].options) names.push_back(key);
    for (const std::string& name : names) {
      const std::string key = group_key(g, name);
      auto it = dict.find(key);
      if (it == dict.end()) {
        missing.push_back(key);
        continue;
      }
      try {
        const double value = decode_double(it->second, key);
        if (name == "lr")
          groups[g].lr = value;
        else if (name == "weight_decay")
          groups[g].weight_decay = value;
        else
          groups[g].options[name] = value;
      } catch (const Error& e) {
        invalid.push_back(e.what());
      }
    }
    const std::string count_key = group_key(g, "num_params");
    auto it = dict.find(count_key);
    if (it == dict.end()) {
      missing.push_back(count_key);
    } else {
      try {
        const int64_t count = decode_int(it->second, count_key);
        if (count != int64_t(groups[g].params.size())) mismatch(count_key, count, groups[g].params.size());
      } catch (const Error& e) {
        invalid.push_back(e.what());
      }
    }
  }

  // Per-parameter state: indices in range, names this optimizer knows, shapes of the parameters.
  const std::vector<std::string> known = known_buffers();
  std::vector<std::vector<ParamState>> state(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) state[g].resize(groups[g].params.size());
  std::set<std::pair<size_t, size_t>> present;
  for (auto& [key, t] : dict) {
    const std::vector<std::string> parts = split_dots(key);
    size_t g = 0, i = 0;
    if (parts.size() == 3 && parts[0] == "group" && parse_index(parts[1], g) && g < groups.size() &&
        (parts[2] == "lr" || parts[2] == "weight_decay" || parts[2] == "num_params" ||
         groups[g].options.count(parts[2])))
      continue;  // handled above
    const bool is_state = parts.size() == 4 && parts[0] == "state" && parse_index(parts[1], g) && g < groups.size() &&
                          parse_index(parts[2], i) && i < groups[g].params.size();
    if (!is_state) {
      unexpected.push_back(key);
      continue;
    }
    const std::string& name = parts[3];
    if (name == "step" && counts_steps()) {
      try {
        state[g][i].step = decode_int(t, key);
        present.insert({g, i});
      } catch (const Error& e) {
        invalid.push_back(e.what());
      }
      continue;
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      unexpected.push_back(key);
      continue;
    }
    const Tensor& param = groups[g].params[i];
    if (!t.defined() || !(t.shape() == param.shape())) {
      mismatch(key, t.defined() ? t.shape() : Shape{}, param.shape());
      continue;
    }
    if (t.dtype() != DType::f32 && t.dtype() != DType::bf16) {
      invalid.push_back(key + ": expected f32, got " + std::string(dtype_name(t.dtype())));
      continue;
    }
    state[g][i].buffers[name] = t.to(DType::f32).clone();  // a copy the optimizer owns, never the caller's
    present.insert({g, i});
  }
  // A parameter with any state needs all of it (under the loaded options).
  for (auto [g, i] : present) {
    std::vector<std::string> required = required_buffers(groups[g]);
    if (counts_steps()) required.push_back("step");
    for (const std::string& name : required)
      if (!dict.count(state_key(g, i, name))) missing.push_back(state_key(g, i, name));
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    try {
      check_options(groups[g]);
    } catch (const Error& e) {
      invalid.push_back(std::string(e.what()) + " (group " + std::to_string(g) + ")");
    }
  }

  throw_if_state_mismatch(name_ + "::load_state_dict: the state dict does not fit this optimizer (" +
                              std::to_string(groups_.size()) + " parameter group(s))",
                          missing, unexpected, mismatched, invalid);
  groups_ = std::move(groups);
  state_ = std::move(state);
}

}  // namespace nabla::optim
