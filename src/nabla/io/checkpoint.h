// Checkpoint directories: config.json (architecture + training config), model.safetensors,
// optimizer.safetensors and state.json (epoch, step, RNG, data position, best metric, and a
// CRC32 of every file). A save builds the new directory beside the old one and swaps it in with
// renames, so an interrupted save never destroys the previous checkpoint.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "nabla/core/tensor.h"

namespace nabla::io {

struct Checkpoint {
  nlohmann::json config = nlohmann::json::object();
  std::map<std::string, Tensor> model;
  std::map<std::string, Tensor> optimizer;
  nlohmann::json state = nlohmann::json::object();
};

void save_checkpoint(const std::string& dir, const Checkpoint& checkpoint);
// Verifies every checksum; recovers a save interrupted between its two renames.
Checkpoint load_checkpoint(const std::string& dir);
bool checkpoint_exists(const std::string& dir);
// Why `dir` holds no complete checkpoint (the file and the check that failed), or "" when it does.
std::string checkpoint_damage(const std::string& dir);

// JSON files are written atomically too.
void save_json(const std::string& path, const nlohmann::json& value);
nlohmann::json load_json(const std::string& path);

}  // namespace nabla::io
