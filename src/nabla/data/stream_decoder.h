// Text of generated tokens as they arrive, for printing while generating. Word and subword
// tokenizers space a token by its neighbours, so a token's text alone can be wrong; decoding
// everything so far at each token is right but makes a long generation quadratic. This decodes a
// short window of the latest tokens instead, so every token costs the same however long the text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nabla/data/tokenizer.h"

namespace nabla::data {

class StreamDecoder {
 public:
  // `window`: tokens of context decoded before the new ones (the tokenizer must decode a window
  // with the same text at its end as the whole sequence, as char, word and SentencePiece do).
  explicit StreamDecoder(const Tokenizer& tokenizer, int64_t window = 16);

  // The text this token adds; empty while it cannot be told yet (part of a character, say), in
  // which case a later token's text carries it.
  std::string push(int64_t id);
  // The text of every token pushed whose text could be told.
  const std::string& text() const { return text_; }
  // Tokens decoded by push() so far, over all calls: the work done (a test bounds it).
  int64_t tokens_decoded() const { return tokens_decoded_; }

 private:
  std::string decode(size_t begin, size_t end);

  const Tokenizer& tokenizer_;
  int64_t window_;
  std::vector<int64_t> ids_;
  size_t shown_ = 0;  // ids_[0, shown_) have their text in text_
  std::string text_;
  int64_t tokens_decoded_ = 0;
};

}  // namespace nabla::data
