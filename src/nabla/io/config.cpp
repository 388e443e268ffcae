#include "nabla/io/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "nabla/core/error.h"
#include "nabla/data/input_file.h"

namespace nabla::io {

json read_json_file(const std::string& path) {
  return data::read_json_input(path, "config file", /*allow_comments=*/true);
}

namespace {
void append_lines(const json& node, const std::string& path, std::string& out) {
  if (node.is_object() && !node.empty()) {
    for (const auto& [key, value] : node.items()) append_lines(value, path.empty() ? key : path + "." + key, out);
    return;
  }
  out += (path.empty() ? "(root)" : path) + " = " + node.dump() + "\n";
}
}  // namespace

std::string config_lines(const json& config) {
  std::string out;
  append_lines(config, "", out);
  return out;
}

void apply_override(json& config, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  NABLA_CHECK(eq != std::string::npos && eq > 0, "--set expects key.path=value, got \"", assignment, "\"");
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value;
  try {
    value = data::parse_json(text, "--set " + path);
  } catch (const Error&) {
    if (json::accept(text)) throw;  // valid JSON we cannot take: too deep, or a number too large to hold
    value = text;                   // a bare word: take it as a string
  }
  json* node = &config;
  std::stringstream parts(path);
  std::string part, walked;
  std::vector<std::string> keys;
  while (std::getline(parts, part, '.')) {
    NABLA_CHECK(!part.empty(), "--set ", path, ": empty key in the path");
    keys.push_back(part);
    NABLA_CHECK(keys.size() <= size_t(data::kMaxJsonDepth), "--set ", path.substr(0, 80),
                "...: the key path is more than ", data::kMaxJsonDepth, " keys deep; configs nest a few levels");
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    walked += (walked.empty() ? "" : ".") + keys[i];
    if (node->is_null()) *node = json::object();
    NABLA_CHECK(node->is_object(), "--set ", path, ": ", walked.substr(0, walked.rfind('.')),
                " is not an object, cannot set a key inside it");
    node = &(*node)[keys[i]];
  }
  *node = value;
}

ConfigReader::ConfigReader(const json& config, std::string path)
    : ConfigReader(config, std::move(path), std::make_shared<json>(json::object()), json::json_pointer()) {}

ConfigReader::ConfigReader(const json& config, std::string path, std::shared_ptr<json> root, json::json_pointer where)
    : config_(config.is_null() ? json::object() : config),
      path_(std::move(path)),
      root_(std::move(root)),
      where_(std::move(where)) {
  NABLA_CHECK(config_.is_object(), (path_.empty() ? std::string("config") : path_),
              ": expected an object ({...}), got ", config_.dump());
  if (!root_->contains(where_)) (*root_)[where_] = json::object();
}

bool ConfigReader::has(const std::string& key) const { return config_.contains(key); }

const json* ConfigReader::lookup(const std::string& key) {
  read_.insert(key);
  auto it = config_.find(key);
  return it == config_.end() || it->is_null() ? nullptr : &*it;
}

void ConfigReader::type_error(const std::string& key, const std::string& expected, const json& got) const {
  fail(key_path(key), ": expected ", expected, ", got ", got.dump());
}

namespace {
std::string range_text(double min, double max, bool exclusive_min) {
  if (min == 0 && exclusive_min && max >= 1e300) return "a positive number";
  if (min == 0 && !exclusive_min && max >= 1e300) return "a number >= 0";
  std::ostringstream out;
  out << "a number in " << (exclusive_min ? "(" : "[") << min << ", " << (max >= 1e300 ? "inf)" : "");
  if (max < 1e300) out << max << "]";
  return out.str();
}
}  // namespace

template <typename T, typename Parse>
T ConfigReader::read(const std::string& key, const std::optional<T>& fallback, const std::string& kind, Parse parse) {
  const json* value = lookup(key);
  NABLA_CHECK(value || fallback.has_value(), key_path(key), ": missing; this key is required (", kind, ")");
  T result = value ? parse(*value) : *fallback;
  record(key, result);
  return result;
}

int64_t ConfigReader::integer(const std::string& key, std::optional<int64_t> fallback, int64_t min, int64_t max) {
  NABLA_CHECK(min <= max, key_path(key), ": empty range [", min, ", ", max, "]");
  const std::string expected = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return read<int64_t>(key, fallback, "an integer", [&](const json& value) {
    if (!value.is_number_integer()) type_error(key, expected, value);
    if (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX)) type_error(key, expected, value);
    const int64_t result = value.get<int64_t>();
    if (result < min || result > max) type_error(key, expected, value);
    return result;
  });
}

double ConfigReader::number(const std::string& key, std::optional<double> fallback, double min, double max,
                            bool exclusive_min) {
  return read<double>(key, fallback, "a number", [&](const json& value) {
    const std::string expected = range_text(min, max, exclusive_min);
    if (!value.is_number()) type_error(key, expected, value);
    const double result = value.get<double>();
    if (result < min || result > max || (exclusive_min && result == min)) type_error(key, expected, value);
    return result;
  });
}

std::string ConfigReader::string(const std::string& key, std::optional<std::string> fallback,
                                 const std::vector<std::string>& choices) {
  std::string expected = "a string";
  if (!choices.empty()) {
    expected = "one of";
    for (size_t i = 0; i < choices.size(); ++i) expected += (i ? ", \"" : " \"") + choices[i] + "\"";
  }
  return read<std::string>(key, fallback, expected, [&](const json& value) {
    if (!value.is_string()) type_error(key, expected, value);
    std::string result = value.get<std::string>();
    if (!choices.empty() && std::find(choices.begin(), choices.end(), result) == choices.end())
      type_error(key, expected, value);
    return result;
  });
}

bool ConfigReader::boolean(const std::string& key, std::optional<bool> fallback) {
  return read<bool>(key, fallback, "true or false", [&](const json& value) {
    if (!value.is_boolean()) type_error(key, "true or false", value);
    return value.get<bool>();
  });
}

std::vector<std::string> ConfigReader::strings(const std::string& key,
                                               std::optional<std::vector<std::string>> fallback) {
  return read<std::vector<std::string>>(key, fallback, "a list of strings", [&](const json& value) {
    if (!value.is_array()) type_error(key, "a list of strings", value);
    std::vector<std::string> result;
    for (const json& item : value) {
      if (!item.is_string()) type_error(key, "a list of strings", value);
      result.push_back(item.get<std::string>());
    }
    return result;
  });
}

std::vector<double> ConfigReader::numbers(const std::string& key, std::optional<std::vector<double>> fallback) {
  return read<std::vector<double>>(key, fallback, "a list of numbers", [&](const json& value) {
    if (!value.is_array()) type_error(key, "a list of numbers", value);
    std::vector<double> result;
    for (const json& item : value) {
      if (!item.is_number() || !std::isfinite(item.get<double>())) type_error(key, "a list of finite numbers", value);
      result.push_back(item.get<double>());
    }
    return result;
  });
}

std::vector<std::vector<double>> ConfigReader::number_rows(const std::string& key,
                                                           std::optional<std::vector<std::vector<double>>> fallback,
                                                           int64_t max_cells) {
  const std::string expected = "a list of rows of numbers ([[1, 2], [3, 4]]), all rows as long";
  return read<std::vector<std::vector<double>>>(key, fallback, expected, [&](const json& value) {
    if (!value.is_array() || value.empty()) type_error(key, expected, value);
    std::vector<std::vector<double>> rows;
    int64_t cells = 0;
    for (const json& row : value) {
      if (!row.is_array() || row.empty() || (!rows.empty() && row.size() != rows[0].size()))
        type_error(key, expected, value);
      rows.emplace_back();
      for (const json& item : row) {
        if (!item.is_number() || !std::isfinite(item.get<double>())) type_error(key, expected, value);
        rows.back().push_back(item.get<double>());
      }
      cells += int64_t(row.size());
      NABLA_CHECK(cells <= max_cells, key_path(key), ": more than ", max_cells,
                  " numbers; put data this large in a file (data.dataset \"csv\")");
    }
    return rows;
  });
}

ConfigReader ConfigReader::object(const std::string& key) {
  const json* value = lookup(key);
  if (value && !value->is_object()) type_error(key, "an object ({...})", *value);
  return ConfigReader(value ? *value : json::object(), key_path(key), root_, where_ / key);
}

void ConfigReader::finish() const {
  for (auto it = config_.begin(); it != config_.end(); ++it) {
    if (read_.count(it.key())) continue;
    std::string known;
    for (const std::string& k : read_) known += (known.empty() ? "" : ", ") + k;
    fail(key_path(it.key()), ": unknown key", known.empty() ? std::string() : "; known keys here: " + known);
  }
}

}  // namespace nabla::io
