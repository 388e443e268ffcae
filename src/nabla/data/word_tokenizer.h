// Word-level tokenizer: words (and punctuation marks) of a corpus, the most frequent first, with
// <unk> for words outside the vocabulary and an optional <pad> as id 0.
#pragma once
#include <unordered_map>

#include "nabla/data/tokenizer.h"

namespace nabla::data {

struct WordTokenizerOptions {
  bool lowercase = true;          // ASCII letters only; other scripts are kept as they are
  bool split_punctuation = true;  // true: each mark is its own token; false: marks are dropped
  int64_t max_vocab = 0;          // total ids including <pad>/<unk>; 0 keeps every word
  int64_t min_count = 1;          // words seen fewer times map to <unk>
  bool pad = false;               // reserve id 0 for "<pad>" (padded sequence batches)
  // The articles' text cleaning: words are runs of ASCII letters (lower-cased unless lowercase is
  // false); everything else (digits, punctuation, apostrophes, other scripts) only separates words.
  bool letters_only = false;
};

class WordTokenizer : public Tokenizer {
 public:
  // Counts the words of `texts` (each validated as UTF-8); ids are [<pad>,] <unk>, then words by
  // descending count, ties in alphabetical (byte) order — deterministic for a given corpus.
  static WordTokenizer from_corpus(const std::vector<std::string>& texts, const WordTokenizerOptions& options = {});
  static WordTokenizer from_json(const nlohmann::json& json);
  WordTokenizer(std::vector<std::string> vocabulary, const WordTokenizerOptions& options);

  // The tokens of `text` before the vocabulary lookup. A word is a run of letters, digits and
  // non-ASCII characters, with inner apostrophes and hyphens ("LORD's", "burnt-offering");
  // every other visible ASCII character is punctuation.
  std::vector<std::string> split(const std::string& text) const;

  std::string type() const override { return "word"; }
  std::vector<int64_t> encode(const std::string& text) const override;
  // Tokens joined by spaces, without a space before closing marks (. , ; : ! ? ' ) ] }) or after
  // opening ones (( [ {): encode/decode round-trips ordinarily spaced text of in-vocabulary words.
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return int64_t(vocabulary_.size()); }
  std::string token(int64_t id) const override;
  nlohmann::json to_json() const override;

  int64_t unk_id() const { return unk_id_; }
  int64_t pad_id() const { return options_.pad ? 0 : -1; }
  const WordTokenizerOptions& options() const { return options_; }

 private:
  WordTokenizerOptions options_;
  std::vector<std::string> vocabulary_;
  std::unordered_map<std::string, int64_t> ids_;
  int64_t unk_id_ = 0;
};

}  // namespace nabla::data
