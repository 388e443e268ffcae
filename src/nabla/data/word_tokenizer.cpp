// WordTokenizer: splitting rules, frequency-ranked vocabulary, and spacing-aware decoding.
#include "nabla/data/word_tokenizer.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "nabla/data/utf8.h"

namespace nabla::data {
namespace {

const char* const kPad = "<pad>";
const char* const kUnk = "<unk>";

bool is_word_byte(unsigned char c) { return c >= 0x80 || std::isalnum(c); }
bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool attaches_left(const std::string& t) { return t.size() == 1 && std::strchr(".,;:!?')]}", t[0]); }
bool attaches_right(const std::string& t) { return t.size() == 1 && std::strchr("([{", t[0]); }

}  // namespace

WordTokenizer::WordTokenizer(std::vector<std::string> vocabulary, const WordTokenizerOptions& options)
    : options_(options), vocabulary_(std::move(vocabulary)) {
  const size_t specials = options_.pad ? 2 : 1;
  NABLA_CHECK(
      vocabulary_.size() >= specials && (!options_.pad || vocabulary_[0] == kPad) && vocabulary_[specials - 1] == kUnk,
      "WordTokenizer: the vocabulary must start with ", options_.pad ? "\"<pad>\", " : "",
      "\"<unk>\"; rebuild it with WordTokenizer::from_corpus");
  for (size_t i = 0; i < vocabulary_.size(); ++i)
    NABLA_CHECK(ids_.emplace(vocabulary_[i], int64_t(i)).second, "WordTokenizer: \"", vocabulary_[i],
                "\" appears twice in the vocabulary");
  unk_id_ = int64_t(specials) - 1;
}

std::vector<std::string> WordTokenizer::split(const std::string& text) const {
  validate_utf8(text, "WordTokenizer input");
  std::vector<std::string> tokens;
  const size_t n = text.size();
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  if (options_.letters_only) {
    for (size_t i = 0; i < n;) {
      if (!std::isalpha(byte(i))) {
        ++i;
        continue;
      }
      size_t j = i;
      std::string word;
      for (; j < n && std::isalpha(byte(j)); ++j) word += char(options_.lowercase ? std::tolower(byte(j)) : byte(j));
      tokens.push_back(std::move(word));
      i = j;
    }
    return tokens;
  }
  for (size_t i = 0; i < n;) {
    const unsigned char c = byte(i);
    if (is_space(c)) {
      ++i;
    } else if (is_word_byte(c)) {
      size_t j = i + 1;
      while (j < n &&
             (is_word_byte(byte(j)) || ((text[j] == '\'' || text[j] == '-') && j + 1 < n && is_word_byte(byte(j + 1)))))
        ++j;
      std::string word = text.substr(i, j - i);
      if (options_.lowercase)
        for (char& ch : word)
          if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
      tokens.push_back(std::move(word));
      i = j;
    } else {
      if (options_.split_punctuation) tokens.emplace_back(1, char(c));
      ++i;
    }
  }
  return tokens;
}

WordTokenizer WordTokenizer::from_corpus(const std::vector<std::string>& texts, const WordTokenizerOptions& options) {
  NABLA_CHECK(options.max_vocab == 0 || options.max_vocab > (options.pad ? 2 : 1), "WordTokenizer: max_vocab ",
              options.max_vocab, " leaves no room for words next to the special tokens");
  NABLA_CHECK(options.min_count >= 1, "WordTokenizer: min_count must be at least 1, got ", options.min_count);
  WordTokenizerOptions split_options = options;
  split_options.pad = false;
  WordTokenizer splitter({kUnk}, split_options);
  std::unordered_map<std::string, int64_t> counts;
  for (const std::string& text : texts)
    for (std::string& w : splitter.split(text)) ++counts[std::move(w)];
  counts.erase(kPad);
  counts.erase(kUnk);
  NABLA_CHECK(!counts.empty(), "WordTokenizer: the corpus has no words (", texts.size(), " texts)");
  std::vector<std::pair<std::string, int64_t>> ranked(counts.begin(), counts.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> vocabulary;
  if (options.pad) vocabulary.push_back(kPad);
  vocabulary.push_back(kUnk);
  for (auto& [word, count] : ranked) {
    if (count < options.min_count) break;
    if (options.max_vocab > 0 && int64_t(vocabulary.size()) >= options.max_vocab) break;
    vocabulary.push_back(word);
  }
  return WordTokenizer(std::move(vocabulary), options);
}

std::vector<int64_t> WordTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const std::string& w : split(text)) {
    auto it = ids_.find(w);
    ids.push_back(it == ids_.end() ? unk_id_ : it->second);
  }
  return ids;
}

std::string WordTokenizer::token(int64_t id) const {
  NABLA_CHECK(id >= 0 && id < vocab_size(), "WordTokenizer: token id ", id, " is outside the vocabulary [0, ",
              vocab_size(), ")");
  return vocabulary_[size_t(id)];
}

std::string WordTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  bool glue_next = true;  // no space before the first token or after an opening mark
  for (int64_t id : ids) {
    NABLA_CHECK(id >= 0 && id < vocab_size(), "WordTokenizer: cannot decode token id ", id,
                "; the vocabulary has ids 0..", vocab_size() - 1);
    if (options_.pad && id == 0) continue;  // padding is not text
    const std::string& t = vocabulary_[size_t(id)];
    if (!glue_next && !attaches_left(t)) text += ' ';
    text += t;
    glue_next = attaches_right(t);
  }
  return text;
}

nlohmann::json WordTokenizer::to_json() const {
  nlohmann::json j = {{"type", "word"},
                      {"lowercase", options_.lowercase},
                      {"split_punctuation", options_.split_punctuation},
                      {"pad", options_.pad},
                      {"vocabulary", vocabulary_}};
  if (options_.letters_only) j["letters_only"] = true;  // absent in runs saved before the option
  return j;
}

WordTokenizer WordTokenizer::from_json(const nlohmann::json& json) {
  WordTokenizerOptions options;
  options.lowercase = detail::tokenizer_field<bool>(json, "lowercase", "true or false");
  options.split_punctuation = detail::tokenizer_field<bool>(json, "split_punctuation", "true or false");
  options.pad = detail::tokenizer_field<bool>(json, "pad", "true or false");
  if (json.contains("letters_only"))
    options.letters_only = detail::tokenizer_field<bool>(json, "letters_only", "true or false");
  auto vocabulary = detail::tokenizer_field<std::vector<std::string>>(json, "vocabulary", "a list of words");
  options.max_vocab = int64_t(vocabulary.size());
  return WordTokenizer(std::move(vocabulary), options);
}

}  // namespace nabla::data
