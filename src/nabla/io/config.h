// Reading JSON run configs strictly: every key is looked up with its type, range and default, the
// values actually used are collected into a resolved config, and keys nobody asked for are an
// error naming their full path — `training.optimizer.lr: expected a positive number, got "fast"`.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nabla::io {

using json = nlohmann::json;

// Reads a JSON file; errors name the file and the parse position.
json read_json_file(const std::string& path);

// The config as one "key.path = value" line per leaf, keys sorted: comparable line by line.
std::string config_lines(const json& config);

// Applies one `--set a.b.c=value` override; value is parsed as JSON, else taken as a string.
void apply_override(json& config, const std::string& assignment);

class ConfigReader {
 public:
  // `config` must be an object (or null = empty); `path` prefixes error messages ("training").
  explicit ConfigReader(const json& config, std::string path = "");

  // Every integer key has a range, so no value from a config can overflow what it sizes.
  int64_t integer(const std::string& key, std::optional<int64_t> fallback, int64_t min, int64_t max);
  // exclusive_min: the value must be > min (a "positive number" for min 0).
  double number(const std::string& key, std::optional<double> fallback, double min = -1e300, double max = 1e300,
                bool exclusive_min = false);
  std::string string(const std::string& key, std::optional<std::string> fallback,
                     const std::vector<std::string>& choices = {});
  bool boolean(const std::string& key, std::optional<bool> fallback);
  std::vector<std::string> strings(const std::string& key, std::optional<std::vector<std::string>> fallback);
  // A list of finite numbers, and a table of them (rows of equal length, at most max_cells in all).
  std::vector<double> numbers(const std::string& key, std::optional<std::vector<double>> fallback);
  std::vector<std::vector<double>> number_rows(const std::string& key,
                                               std::optional<std::vector<std::vector<double>>> fallback,
                                               int64_t max_cells = 1 << 20);
  // A nested object (missing = empty); read it, then call finish() on it too.
  ConfigReader object(const std::string& key);
  bool has(const std::string& key) const;

  // Errors on the first key that was never read, listing the keys that are known here.
  void finish() const;
  // The values read (defaults filled in), nested objects included once finished.
  const json& resolved() const { return root_->at(where_); }
  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  ConfigReader(const json& config, std::string path, std::shared_ptr<json> root, json::json_pointer where);
  const json* lookup(const std::string& key);
  // The value of `key` parsed by parse(json) (which throws on a wrong value), or the fallback when
  // the key is absent (an error naming `kind` when there is none); records the result.
  template <typename T, typename Parse>
  T read(const std::string& key, const std::optional<T>& fallback, const std::string& kind, Parse parse);
  void record(const std::string& key, json value) { (*root_)[where_ / key] = std::move(value); }
  [[noreturn]] void type_error(const std::string& key, const std::string& expected, const json& got) const;

  json config_;
  std::string path_;
  std::set<std::string> read_;
  std::shared_ptr<json> root_;  // the resolved config of the whole file; this reader fills where_
  json::json_pointer where_;
};

}  // namespace nabla::io
