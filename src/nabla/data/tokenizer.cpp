// make_tokenizer: the factory from saved JSON, and what every tokenizer shares.
#include "nabla/data/tokenizer.h"

#include "nabla/core/creation.h"
#include "nabla/data/byte_level_bpe_tokenizer.h"
#include "nabla/data/char_tokenizer.h"
#include "nabla/data/sentencepiece_tokenizer.h"
#include "nabla/data/word_tokenizer.h"
#include "nabla/data/wordpiece_tokenizer.h"

namespace nabla::data {

Tensor Tokenizer::encode_tensor(const std::string& text) const { return tensor_i64(encode(text)); }

std::unique_ptr<Tokenizer> make_tokenizer(const nlohmann::json& config) {
  NABLA_CHECK(config.is_object(), "tokenizer: expected a JSON object with a \"type\", got ", config.dump());
  const std::string type = detail::tokenizer_field<std::string>(config, "type", "a string");
  if (type == "char") return std::make_unique<CharTokenizer>(CharTokenizer::from_json(config));
  if (type == "word") return std::make_unique<WordTokenizer>(WordTokenizer::from_json(config));
  if (type == "sentencepiece")
    return std::make_unique<SentencePieceTokenizer>(SentencePieceTokenizer::from_json(config));
  if (type == "byte_level_bpe")
    return std::make_unique<ByteLevelBPETokenizer>(ByteLevelBPETokenizer::from_json(config));
  if (type == "wordpiece") return std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_json(config));
  fail("tokenizer.type: unknown tokenizer \"", type,
       "\"; known types: char, word, sentencepiece, byte_level_bpe, wordpiece");
}

namespace detail {

void encode_with_special(std::string_view rest, const std::vector<std::pair<std::string, int64_t>>& special,
                         const std::function<void(std::string_view)>& ordinary, std::vector<int64_t>& out) {
  while (!rest.empty()) {
    size_t best = std::string_view::npos;
    const std::pair<std::string, int64_t>* found = nullptr;
    for (const auto& s : special) {
      const size_t at = rest.find(s.first);
      if (at < best) best = at, found = &s;
    }
    ordinary(rest.substr(0, best));
    if (!found) break;
    out.push_back(found->second);
    rest.remove_prefix(best + found->first.size());
  }
}

std::vector<std::string> tokens_by_id(const nlohmann::json& vocab, const std::string& source) {
  NABLA_CHECK(vocab.is_object(), source, ": the vocabulary must be a JSON object of token -> id");
  std::vector<std::string> tokens(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [token, id] : vocab.items()) {
    NABLA_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < int64_t(vocab.size()), source,
                ": token ", nlohmann::json(token).dump(), " has id ", id.dump().substr(0, 40), "; ids must number the ",
                vocab.size(), " tokens from 0 without gaps");
    const size_t i = size_t(id.get<int64_t>());
    NABLA_CHECK(!seen[i], source, ": id ", i, " is given to two tokens");
    seen[i] = true;
    tokens[i] = token;
  }
  return tokens;
}

template <typename T>
T tokenizer_field(const nlohmann::json& json, const char* key, const char* expected) {
  NABLA_CHECK(json.is_object() && json.contains(key), "tokenizer: missing key \"", key, "\" (", expected, ")");
  try {
    return json.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("tokenizer.", key, ": expected ", expected, ", got ", json.at(key).dump().substr(0, 80));
  }
}

template std::string tokenizer_field<std::string>(const nlohmann::json&, const char*, const char*);
template bool tokenizer_field<bool>(const nlohmann::json&, const char*, const char*);
template int64_t tokenizer_field<int64_t>(const nlohmann::json&, const char*, const char*);
template std::vector<std::string> tokenizer_field<std::vector<std::string>>(const nlohmann::json&, const char*,
                                                                            const char*);

}  // namespace detail
}  // namespace nabla::data
