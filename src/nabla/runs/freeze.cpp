#include "nabla/runs/freeze.h"

#include <fnmatch.h>

#include "nabla/core/error.h"

namespace nabla::runs {

namespace {

bool matches(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0 || ::fnmatch((pattern + ".*").c_str(), name.c_str(), 0) == 0;
}

}  // namespace

std::vector<std::string> freeze_parameters(nn::Module& module, const std::vector<std::string>& patterns) {
  const auto named = module.named_parameters();
  std::vector<std::string> frozen;
  for (const std::string& pattern : patterns) {
    bool any = false;
    for (const auto& [name, p] : named)
      if (matches(pattern, name)) any = true;
    if (!any) {
      std::string names;
      for (size_t i = 0; i < named.size() && i < 12; ++i) names += (i ? ", " : "") + named[i].first;
      if (named.size() > 12) names += ", ...";
      fail("training.freeze: \"", pattern, "\" matches no parameter of this model; its parameters are ", names,
           " (a pattern is a glob over these names, or a module name such as \"h.0\")");
    }
  }
  for (const auto& [name, p] : named) {
    bool hit = false;
    for (const std::string& pattern : patterns) hit = hit || matches(pattern, name);
    if (!hit) continue;
    Tensor handle = p;  // shares the parameter's autograd metadata
    handle.requires_grad_(false);
    frozen.push_back(name);
  }
  return frozen;
}

}  // namespace nabla::runs
