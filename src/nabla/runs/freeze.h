// training.freeze: parameters that keep their values while the rest train (transfer learning's
// frozen trunk). Patterns are shell globs over state_dict names; a pattern also covers everything
// under a module of that name ("wte" freezes wte.weight, "h.0.*" the first block).
#pragma once
#include <string>
#include <vector>

#include "nabla/nn/module.h"

namespace nabla::runs {

// Turns requires_grad off on every parameter a pattern matches and returns their names. A pattern
// that matches nothing is an error listing the parameter names.
std::vector<std::string> freeze_parameters(nn::Module& module, const std::vector<std::string>& patterns);

}  // namespace nabla::runs
