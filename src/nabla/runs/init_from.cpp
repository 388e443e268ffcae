#include "nabla/runs/init_from.h"

#include <filesystem>
#include <map>
#include <sstream>

#include "nabla/core/error.h"
#include "nabla/io/checkpoint.h"
#include "nabla/runs/loaded_run.h"

namespace nabla::runs {

namespace fs = std::filesystem;

namespace {

// At most `limit` names, then how many more.
std::string some_of(const std::vector<std::string>& names, size_t limit = 8) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size() - limit) + " more)";
  return out;
}

}  // namespace

BaseRun inherit_from_base_run(io::json& config) {
  if (!config.is_object() || !config.contains("model") || !config["model"].is_object() ||
      !config["model"].contains("init_from"))
    return {};
  const io::json& given = config["model"]["init_from"];
  NABLA_CHECK(given.is_string() && !given.get<std::string>().empty(),
              "model.init_from: must be the path of a run directory, got ", given.dump());
  BaseRun base{given.get<std::string>(), nullptr};
  const std::string info_path = base.dir + "/config.json";
  NABLA_CHECK(fs::is_directory(base.dir) && fs::exists(info_path), "model.init_from \"", base.dir,
              "\": not a run directory (no config.json); give a run made by `nabla train` or `nabla import`");
  const io::json info = io::load_json(info_path);
  NABLA_CHECK(info.is_object() && info.contains("config") && info["config"].is_object() &&
                  info["config"].contains("model") && info["config"]["model"].is_object(),
              "model.init_from \"", base.dir, "\": ", info_path, " is not a run's config.json (no config.model)");
  io::json& model = config["model"];
  io::json merged = info["config"]["model"];
  const bool same_type = !model.contains("type") || model["type"] == merged.value("type", io::json());
  if (same_type) {
    merged.erase("initial_weights");  // the base's own starting point is not the new run's
    merged.erase("init_from");
    for (auto& [key, value] : model.items()) merged[key] = value;
    model = merged;
  }
  if (info.contains("tokenizer") && !info["tokenizer"].is_null())
    base.tokenizer = data::make_tokenizer(info["tokenizer"]);
  return base;
}

InitReport init_from_run(nn::Module& module, const std::string& run_dir) {
  InitReport report;
  report.run = run_dir;
  report.checkpoint = usable_checkpoint(run_dir);
  const io::Checkpoint base = io::load_checkpoint(report.checkpoint);
  const std::map<std::string, Tensor> mine = module.state_dict();
  std::map<std::string, Tensor> matching;
  for (const auto& [name, value] : base.model) {
    const auto it = mine.find(name);
    if (it == mine.end()) {
      report.skipped.emplace_back(name, "not in this model");
    } else if (it->second.shape() != value.shape()) {
      std::ostringstream why;
      why << "shape " << value.shape() << " in the base, " << it->second.shape() << " here";
      report.skipped.emplace_back(name, why.str());
    } else {
      matching.emplace(name, value);
      report.loaded.push_back(name);
    }
  }
  for (const auto& [name, value] : mine)
    if (!matching.count(name)) report.added.push_back(name);
  if (matching.empty()) {
    std::vector<std::string> expected, found;
    for (const auto& [name, value] : mine) expected.push_back(name);
    for (const auto& [name, value] : base.model) found.push_back(name);
    fail("model.init_from \"", run_dir, "\": none of the ", base.model.size(), " weights in ", report.checkpoint,
         " match this model by name and shape; the model expects ", some_of(expected), "; the base has ",
         some_of(found));
  }
  module.load_state_dict(matching, /*strict=*/false);
  return report;
}

io::json InitReport::to_json() const {
  io::json skipped_json = io::json::array();
  for (const auto& [name, why] : skipped) skipped_json.push_back({{"name", name}, {"why", why}});
  return {{"run", run}, {"checkpoint", checkpoint}, {"loaded", loaded}, {"new", added}, {"skipped", skipped_json}};
}

std::string InitReport::describe() const {
  std::ostringstream out;
  out << "started from " << checkpoint << ": " << loaded.size() << " weights loaded, " << added.size() << " new"
      << (added.empty() ? "" : " (" + some_of(added) + ")") << ", " << skipped.size() << " of the base's skipped";
  for (size_t i = 0; i < skipped.size() && i < 8; ++i)
    out << (i ? "; " : ": ") << skipped[i].first << " (" << skipped[i].second << ")";
  if (skipped.size() > 8) out << "; ... (" << skipped.size() - 8 << " more)";
  return out.str();
}

}  // namespace nabla::runs
