// Tokenizer: text <-> token ids, saved with the model as JSON ({"type": "char" | "word" |
// "sentencepiece", ...}) so a checkpoint can encode prompts and decode samples exactly as in training.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nabla/core/error.h"
#include "nabla/core/tensor.h"

namespace nabla::data {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string type() const = 0;
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  // The text of one token, for listings and debugging.
  virtual std::string token(int64_t id) const = 0;
  // Everything needed to rebuild the tokenizer, including "type"; make_tokenizer reads it back.
  virtual nlohmann::json to_json() const = 0;

  // The ids as a 1-D i64 tensor (a corpus for LanguageModelDataset, a prompt for generation).
  Tensor encode_tensor(const std::string& text) const;
};

// Rebuilds a tokenizer from its to_json() by "type"; unknown types and malformed fields are
// errors naming the key.
std::unique_ptr<Tokenizer> make_tokenizer(const nlohmann::json& config);

namespace detail {
// Hugging Face's added vocabulary: `text` cut at its special tokens (`special` sorted longest
// first, so at one place the longer wins; the leftmost place first), ordinary(piece) for the text
// between them and each special token's id appended to `out`.
void encode_with_special(std::string_view text, const std::vector<std::pair<std::string, int64_t>>& special,
                         const std::function<void(std::string_view)>& ordinary, std::vector<int64_t>& out);
// A Hugging Face vocabulary object {token: id} as tokens by id; ids must number the tokens from 0
// without gaps or repeats (errors name `source`).
std::vector<std::string> tokens_by_id(const nlohmann::json& vocab, const std::string& source);

// read(path), with a JSON value of an unexpected type that read's own checks do not name (a
// string where an object belongs, say) turned into an error naming the file.
template <typename Read>
auto naming_malformed_json(const std::string& path, Read read) -> decltype(read(path)) {
  try {
    return read(path);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": malformed tokenizer.json (", e.what(), ")");
  }
}

// Reads json[key] as T or throws "tokenizer: key "<key>" ..." naming what was expected.
template <typename T>
T tokenizer_field(const nlohmann::json& json, const char* key, const char* expected);
}  // namespace detail

}  // namespace nabla::data
