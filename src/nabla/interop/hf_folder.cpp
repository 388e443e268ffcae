// read_hf_folder: config.json, then one or many safetensors files, each checked before use.
#include "nabla/interop/hf_folder.h"

#include <filesystem>

#include "nabla/core/error.h"
#include "nabla/data/input_file.h"
#include "nabla/io/safetensors.h"

namespace nabla::interop {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void add_weights(HFFolder& folder, const std::string& file, const std::string& shown) {
  for (auto& [name, tensor] : io::load_safetensors(file).tensors) {
    const auto [it, fresh] = folder.weight_files.emplace(name, shown);
    NABLA_CHECK(fresh, folder.path, ": weight \"", name, "\" is in both ", it->second, " and ", shown);
    folder.weights.emplace(name, std::move(tensor));
  }
}

const json* config_value(const HFFolder& folder, const std::string& key) {
  const auto it = folder.config.find(key);
  return it == folder.config.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void wrong_type(const HFFolder& folder, const std::string& key, const char* expected) {
  fail(folder.path, "/config.json: \"", key, "\" must be ", expected, ", got ",
       folder.config.at(key).dump().substr(0, 80));
}

}  // namespace

HFFolder read_hf_folder(const std::string& dir) {
  HFFolder folder;
  folder.path = dir;
  NABLA_CHECK(fs::is_directory(dir), dir, ": not a directory; give a Hugging Face model folder (config.json and ",
              "model.safetensors), e.g. one written by save_pretrained()");
  const fs::path root(dir);
  NABLA_CHECK(fs::exists(root / "config.json"), dir,
              ": no config.json; a Hugging Face model folder has config.json beside its weights");
  folder.config = data::read_json_input((root / "config.json").string(), "Hugging Face config.json");
  NABLA_CHECK(folder.config.is_object(), dir, "/config.json: expected a JSON object");

  const fs::path single = root / "model.safetensors", index = root / "model.safetensors.index.json";
  if (fs::exists(index)) {
    const json idx = data::read_json_input(index.string(), "safetensors index");
    NABLA_CHECK(idx.is_object() && idx.contains("weight_map") && idx["weight_map"].is_object(), index.string(),
                ": expected an object with a \"weight_map\" of tensor name -> shard file");
    std::map<std::string, std::vector<std::string>> names_by_shard;
    for (const auto& [name, shard] : idx["weight_map"].items()) {
      NABLA_CHECK(shard.is_string(), index.string(), ": weight_map[\"", name, "\"] must be a file name");
      const std::string file = shard.get<std::string>();
      NABLA_CHECK(fs::path(file).filename().string() == file && file != "." && file != "..", index.string(),
                  ": shard \"", file, "\" must be a file name inside the folder");
      names_by_shard[file].push_back(name);
    }
    NABLA_CHECK(!names_by_shard.empty(), index.string(), ": weight_map is empty");
    for (const auto& [file, names] : names_by_shard) {
      NABLA_CHECK(fs::exists(root / file), index.string(), ": names shard ", file, " (for \"", names.front(), "\" and ",
                  names.size() - 1, " more), which is not in ", dir);
      add_weights(folder, (root / file).string(), file);
      for (const std::string& name : names)
        NABLA_CHECK(folder.weight_files.count(name) && folder.weight_files[name] == file, index.string(), ": says \"",
                    name, "\" is in ", file, ", but it is not there");
    }
  } else if (fs::exists(single)) {
    add_weights(folder, single.string(), "model.safetensors");
  } else if (fs::exists(root / "pytorch_model.bin") || fs::exists(root / "pytorch_model.bin.index.json")) {
    fail(dir, ": has only PyTorch pickle weights (pytorch_model.bin), which nabla does not unpickle (a pickle can ",
         "run code). Convert the folder once in Python: AutoModel.from_pretrained(DIR).save_pretrained(DIR, ",
         "safe_serialization=True) writes model.safetensors");
  } else {
    fail(dir, ": no weights; expected model.safetensors or model.safetensors.index.json with its shards");
  }
  return folder;
}

std::string hf_string(const HFFolder& folder, const std::string& key, const std::string& fallback) {
  const json* v = config_value(folder, key);
  if (!v) return fallback;
  if (!v->is_string()) wrong_type(folder, key, "a string");
  return v->get<std::string>();
}

int64_t hf_integer(const HFFolder& folder, const std::string& key, std::optional<int64_t> fallback, int64_t min,
                   int64_t max) {
  const json* v = config_value(folder, key);
  if (!v) {
    NABLA_CHECK(fallback.has_value(), folder.path, "/config.json: missing \"", key, "\"");
    return *fallback;
  }
  if (!v->is_number_integer()) wrong_type(folder, key, "an integer");
  const int64_t value =
      v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : v->get<int64_t>();
  NABLA_CHECK(value >= min && value <= max, folder.path, "/config.json: \"", key, "\" must be in [", min, ", ", max,
              "], got ", v->dump());
  return value;
}

double hf_number(const HFFolder& folder, const std::string& key, double fallback) {
  const json* v = config_value(folder, key);
  if (!v) return fallback;
  if (!v->is_number()) wrong_type(folder, key, "a number");
  return v->get<double>();
}

bool hf_boolean(const HFFolder& folder, const std::string& key, bool fallback) {
  const json* v = config_value(folder, key);
  if (!v) return fallback;
  if (!v->is_boolean()) wrong_type(folder, key, "true or false");
  return v->get<bool>();
}

void write_hf_weights(const std::string& dir, const std::map<std::string, Tensor>& weights) {
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), weights, {{"format", "pt"}});
}

}  // namespace nabla::interop
