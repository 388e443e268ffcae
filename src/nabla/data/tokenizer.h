// Tokenizer: text <-> token ids, saved with the model as JSON ({"type": "char" | "word" |
// "sentencepiece", ...}) so a checkpoint can encode prompts and decode samples exactly as in training.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
// Reads json[key] as T or throws "tokenizer: key "<key>" ..." naming what was expected.
template <typename T>
T tokenizer_field(const nlohmann::json& json, const char* key, const char* expected);
}  // namespace detail

}  // namespace nabla::data
