// Shared helpers for the optim tests: golden file access, building an optimizer from a golden
// config, and allclose-style comparison that also reports the largest differences.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nabla/nabla.h"

#ifndef NABLA_SOURCE_DIR
#error "NABLA_SOURCE_DIR must name the repository root (set it in CMake)"
#endif

namespace nabla::optim_test {

using json = nlohmann::json;

inline std::string golden_path(const std::string& file) {
  return std::string(NABLA_SOURCE_DIR) + "/tests/golden/optim/data/" + file;
}

// Golden files whose names start with `prefix`, sorted.
inline std::vector<std::string> golden_files(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(golden_path("")))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Largest absolute and relative differences seen, for the parity report.
struct Diff {
  double max_abs = 0, max_rel = 0;
  void add(const Diff& o) {
    max_abs = std::max(max_abs, o.max_abs);
    max_rel = std::max(max_rel, o.max_rel);
  }
};

// numpy.allclose: |actual - expected| <= atol + rtol * |expected| for every element.
inline ::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                                            Diff* diff = nullptr) {
  if (!(actual.shape() == expected.shape()))
    return ::testing::AssertionFailure() << "shape " << actual.shape() << " vs expected " << expected.shape();
  const std::vector<float> a = actual.to_vector<float>(), e = expected.to_vector<float>();
  Diff d;
  int64_t worst = -1;
  double worst_excess = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(double(a[i]) - double(e[i]));
    d.max_abs = std::max(d.max_abs, err);
    if (e[i] != 0) d.max_rel = std::max(d.max_rel, err / std::abs(double(e[i])));
    const double excess = err - (atol + rtol * std::abs(double(e[i])));
    if (!(excess <= 0) && (worst < 0 || excess > worst_excess)) {
      worst = int64_t(i);
      worst_excess = excess;
    }
  }
  if (diff) diff->add(d);
  if (worst >= 0)
    return ::testing::AssertionFailure() << "element " << worst << ": " << a[worst] << " vs expected " << e[worst]
                                         << " (max abs diff " << d.max_abs << ", max rel diff " << d.max_rel << ")";
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult bit_equal(const Tensor& a, const Tensor& b) {
  if (!(a.shape() == b.shape())) return ::testing::AssertionFailure() << "shapes " << a.shape() << " vs " << b.shape();
  const std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  for (size_t i = 0; i < x.size(); ++i)
    if (std::memcmp(&x[i], &y[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "element " << i << ": " << x[i] << " vs " << y[i];
  return ::testing::AssertionSuccess();
}

inline double json_number(const json& v) { return v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>(); }

// The optimizer a golden config describes: "optimizer" names it, "defaults" are its constructor
// options (PyTorch's names, betas split), "groups" list parameter indices and per-group overrides.
inline std::unique_ptr<optim::Optimizer> make_optimizer(const json& config, const std::vector<Tensor>& params) {
  std::vector<optim::ParamGroup> groups;
  for (const json& g : config.at("groups")) {
    optim::ParamGroup group;
    for (const json& j : g.at("params")) group.params.push_back(params.at(j.get<size_t>()));
    for (auto& [key, value] : g.items()) {
      if (key == "params") continue;
      if (key == "lr")
        group.lr = json_number(value);
      else if (key == "weight_decay")
        group.weight_decay = json_number(value);
      else
        group.options[key] = json_number(value);
    }
    groups.push_back(group);
  }
  const json& d = config.at("defaults");
  auto get = [&](const char* key, double fallback) { return d.contains(key) ? json_number(d.at(key)) : fallback; };
  const std::string name = config.at("optimizer");
  if (name == "sgd") {
    optim::SGDOptions o;
    o = {get("lr", o.lr), get("momentum", o.momentum), get("dampening", o.dampening),
         get("weight_decay", o.weight_decay), get("nesterov", o.nesterov) != 0};
    return std::make_unique<optim::SGD>(groups, o);
  }
  if (name == "adagrad") {
    optim::AdagradOptions o;
    o = {get("lr", o.lr), get("lr_decay", o.lr_decay), get("weight_decay", o.weight_decay),
         get("initial_accumulator_value", o.initial_accumulator_value), get("eps", o.eps)};
    return std::make_unique<optim::Adagrad>(groups, o);
  }
  if (name == "rmsprop") {
    optim::RMSpropOptions o;
    o = {get("lr", o.lr),
         get("alpha", o.alpha),
         get("eps", o.eps),
         get("weight_decay", o.weight_decay),
         get("momentum", o.momentum),
         get("centered", o.centered) != 0};
    return std::make_unique<optim::RMSprop>(groups, o);
  }
  if (name == "adam") {
    optim::AdamOptions o;
    o = {get("lr", o.lr),
         {get("beta1", o.betas.first), get("beta2", o.betas.second)},
         get("eps", o.eps),
         get("weight_decay", o.weight_decay),
         get("amsgrad", o.amsgrad) != 0};
    return std::make_unique<optim::Adam>(groups, o);
  }
  if (name == "adamw") {
    optim::AdamWOptions o;
    o = {get("lr", o.lr),
         {get("beta1", o.betas.first), get("beta2", o.betas.second)},
         get("eps", o.eps),
         get("weight_decay", o.weight_decay),
         get("amsgrad", o.amsgrad) != 0};
    return std::make_unique<optim::AdamW>(groups, o);
  }
  ADD_FAILURE() << "unknown optimizer " << name;
  return nullptr;
}

}  // namespace nabla::optim_test
