// Files that come from outside (data sets, images, configs, checkpoints, tokenizers): read only
// when they are regular files of bounded size, so a directory, a device such as /dev/zero or a
// FIFO is an error naming the path instead of a read that blocks or grows without end; and JSON
// parsed with bounded nesting, so no recursive reader of it can run out of stack.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace nabla::data {

// Generous bounds for what nabla reads whole: they stop runaway input, not real files.
constexpr uint64_t kMaxJsonFileBytes = uint64_t(1) << 30;  // configs, tokenizer files, state.json
constexpr int kMaxJsonDepth = 64;                          // nabla's own files nest 4 levels at most

// Checks that `path` names a regular file of at most max_bytes and returns its size; `what` says
// what the file is for in messages ("config file", "image", ...).
uint64_t check_input_file(const std::string& path, const std::string& what, uint64_t max_bytes = UINT64_MAX);

// The whole content of a checked input file (opened without blocking, checked again once open).
std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes);

// JSON text with at most kMaxJsonDepth levels of arrays and objects; `allow_comments` accepts
// // and /* */ comments. Errors name `what` and say where the text goes wrong.
nlohmann::json parse_json(std::string_view text, const std::string& what, bool allow_comments = false);

// A JSON file: check_input_file + parse_json.
nlohmann::json read_json_input(const std::string& path, const std::string& what, bool allow_comments = false);

}  // namespace nabla::data
