// CharTokenizer: sorted code points <-> ids, with an ASCII fast path for encoding.
#include "nabla/data/char_tokenizer.h"

#include <algorithm>
#include <set>

#include "nabla/data/utf8.h"

namespace nabla::data {
namespace {
const char* const kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD, what <unk> decodes to
}

CharTokenizer::CharTokenizer(std::vector<std::string> characters, bool with_unk) : characters_(std::move(characters)) {
  NABLA_CHECK(!characters_.empty(), "CharTokenizer: the vocabulary is empty; build it from a non-empty corpus");
  ascii_ids_.fill(-1);
  for (size_t i = 0; i < characters_.size(); ++i) {
    const std::string& c = characters_[i];
    const auto pieces = split_code_points(c, "CharTokenizer vocabulary entry " + std::to_string(i));
    NABLA_CHECK(pieces.size() == 1, "CharTokenizer: vocabulary entry ", i, " \"", c, "\" is not exactly one character");
    NABLA_CHECK(ids_.emplace(c, int64_t(i)).second, "CharTokenizer: ", describe_character(c),
                " appears twice in the vocabulary");
    if (c.size() == 1) ascii_ids_[static_cast<unsigned char>(c[0])] = int64_t(i);
  }
  if (with_unk) unk_id_ = int64_t(characters_.size());
}

CharTokenizer CharTokenizer::from_corpus(const std::string& corpus, bool with_unk) {
  NABLA_CHECK(!corpus.empty(), "CharTokenizer: the corpus is empty");
  validate_utf8(corpus, "CharTokenizer corpus");
  bool seen_ascii[128] = {};
  std::set<std::string> others;  // std::string order on UTF-8 bytes = code point order
  for (size_t i = 0; i < corpus.size();) {
    const unsigned char lead = static_cast<unsigned char>(corpus[i]);
    if (lead < 0x80) {
      seen_ascii[lead] = true;
      ++i;
      continue;
    }
    const size_t n = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    others.insert(corpus.substr(i, n));
    i += n;
  }
  std::vector<std::string> characters;
  for (int c = 0; c < 128; ++c)
    if (seen_ascii[c]) characters.emplace_back(1, char(c));
  characters.insert(characters.end(), others.begin(), others.end());
  return CharTokenizer(std::move(characters), with_unk);
}

CharTokenizer CharTokenizer::from_json(const nlohmann::json& json) {
  return CharTokenizer(detail::tokenizer_field<std::vector<std::string>>(json, "characters", "a list of characters"),
                       json.contains("unk") ? detail::tokenizer_field<bool>(json, "unk", "true or false") : false);
}

std::vector<int64_t> CharTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    int64_t id = -1;
    size_t n = 1;
    if (lead < 0x80) {
      id = ascii_ids_[lead];
    } else {
      n = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
      const std::string c = text.substr(i, n);
      // Validate lazily: only non-ASCII text can be malformed.
      if (lead < 0xc2 || lead > 0xf4 || i + n > text.size()) validate_utf8(text, "CharTokenizer input");
      auto it = ids_.find(c);
      if (it != ids_.end())
        id = it->second;
      else
        validate_utf8(c, "CharTokenizer input at byte " + std::to_string(i));
    }
    if (id < 0) {
      if (unk_id_ < 0)
        fail("CharTokenizer: character ", describe_character(text.substr(i, n)), " at byte ", i,
             " is not in the vocabulary of ", characters_.size(),
             " characters; remove it from the text, or build the tokenizer with <unk> enabled");
      id = unk_id_;
    }
    ids.push_back(id);
    i += n;
  }
  return ids;
}

std::string CharTokenizer::token(int64_t id) const {
  NABLA_CHECK(id >= 0 && id < vocab_size(), "CharTokenizer: token id ", id, " is outside the vocabulary [0, ",
              vocab_size(), ")");
  return id == unk_id_ ? "<unk>" : characters_[size_t(id)];
}

std::string CharTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  text.reserve(ids.size());
  for (int64_t id : ids) {
    NABLA_CHECK(id >= 0 && id < vocab_size(), "CharTokenizer: cannot decode token id ", id,
                "; the vocabulary has ids 0..", vocab_size() - 1);
    text += id == unk_id_ ? kReplacementCharacter : characters_[size_t(id)];
  }
  return text;
}

nlohmann::json CharTokenizer::to_json() const {
  return {{"type", "char"}, {"characters", characters_}, {"unk", unk_id_ >= 0}};
}

}  // namespace nabla::data
