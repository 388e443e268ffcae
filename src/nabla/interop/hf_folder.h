// A Hugging Face model folder: config.json and the weights, in one model.safetensors or sharded
// (model-0000N-of-0000M.safetensors listed by model.safetensors.index.json). Weights stay views of
// the memory-mapped files until a model copies them in, so a folder is never held twice.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "nabla/core/tensor.h"

namespace nabla::interop {

struct HFFolder {
  std::string path;
  nlohmann::json config;                            // config.json
  std::map<std::string, Tensor> weights;            // by Hugging Face's names
  std::map<std::string, std::string> weight_files;  // name -> the file it came from, for messages
};

// Reads config.json and every weight. Errors name the folder and the file: no config.json, only
// pytorch_model.bin (with how to convert it), an index naming a missing shard or a tensor that is
// not in its shard, a name in two shards.
HFFolder read_hf_folder(const std::string& dir);

// The string value of config[key], or `fallback`; a present value of another type is an error
// naming the file and key. The same for integers (in [min, max]), numbers and booleans.
std::string hf_string(const HFFolder& folder, const std::string& key, const std::string& fallback);
int64_t hf_integer(const HFFolder& folder, const std::string& key, std::optional<int64_t> fallback, int64_t min,
                   int64_t max);
double hf_number(const HFFolder& folder, const std::string& key, double fallback);
bool hf_boolean(const HFFolder& folder, const std::string& key, bool fallback);

// Writes weights as DIR/model.safetensors (atomically) with Hugging Face's "format": "pt" metadata.
void write_hf_weights(const std::string& dir, const std::map<std::string, Tensor>& weights);

}  // namespace nabla::interop
