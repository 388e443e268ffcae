// model.init_from: a new run starts from another run's weights (a run `nabla train` or
// `nabla import` made), as transfer learning does. The base's model settings are the defaults for
// the new model.*, so `"model": {"init_from": "runs/bert", "head": "classifier"}` is the base's
// architecture with a new head; a text run tokenizes with the base's tokenizer; the weights that
// match by name and shape are copied in, and the run's log and results.json say which were
// loaded, which are new and which of the base's were skipped, and why.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nabla/data/tokenizer.h"
#include "nabla/io/config.h"
#include "nabla/nn/module.h"

namespace nabla::runs {

struct BaseRun {
  std::string dir;  // empty: the config has no model.init_from
  std::shared_ptr<const data::Tokenizer> tokenizer;
};

// Reads model.init_from's run (errors name it and what is missing) and writes the base's model
// settings under config's own model.* (when model.type is unset or the base's).
BaseRun inherit_from_base_run(io::json& config);

struct InitReport {
  std::string run, checkpoint;
  std::vector<std::string> loaded, added;                    // added: this model's, not in the base
  std::vector<std::pair<std::string, std::string>> skipped;  // the base's weights left out, and why
  io::json to_json() const;
  std::string describe() const;  // for the log: counts and the names that did not load
};

// Copies in the base run's weights (checkpoints/best, else last) that match the module's by name
// and shape. None matching is an error listing what the model expected.
InitReport init_from_run(nn::Module& module, const std::string& run_dir);

}  // namespace nabla::runs
