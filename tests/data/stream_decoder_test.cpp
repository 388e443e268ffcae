// StreamDecoder: the text printed token by token while generating equals the decoded whole, for
// every tokenizer kind, and each token costs a bounded amount of decoding however long the text
// (decoding all tokens at every step made a 100,000-token generation quadratic).
#include "nabla/data/stream_decoder.h"

#include <gtest/gtest.h>

#include "nabla/core/random.h"
#include "nabla/data/byte_level_bpe_tokenizer.h"
#include "nabla/data/char_tokenizer.h"
#include "nabla/data/sentencepiece_tokenizer.h"
#include "nabla/data/text_corpus.h"
#include "nabla/data/word_tokenizer.h"

using namespace nabla;

namespace {

std::vector<std::string> kjv_lines(size_t count) {
  static const auto verses = data::load_kjv();
  std::vector<std::string> lines;
  for (size_t i = 0; i < count && i < verses.size(); ++i) lines.push_back(verses[i].text);
  return lines;
}

// Streams `n` random ids through a StreamDecoder and checks the pieces against decode(all).
void expect_streams_like_decode(const data::Tokenizer& tok, int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<int64_t> ids;
  data::StreamDecoder stream(tok, 8);
  std::string printed;
  for (int64_t i = 0; i < n; ++i) {
    ids.push_back(int64_t(gen.next_u64() % uint64_t(tok.vocab_size())));
    printed += stream.push(ids.back());
  }
  EXPECT_EQ(printed, stream.text());
  const std::string whole = tok.decode(ids);
  // Everything that could be told is printed: the whole text, or all of it but an unfinished tail.
  ASSERT_LE(printed.size(), whole.size()) << tok.type();
  EXPECT_EQ(whole.compare(0, printed.size(), printed), 0) << tok.type() << ": the printed text is not the decode";
  EXPECT_GE(printed.size() + 64, whole.size()) << tok.type() << ": too much text held back";
  // Each push decodes at most two windows of 8 tokens plus the new ones.
  EXPECT_LE(stream.tokens_decoded(), 18 * n) << tok.type();
}

}  // namespace

TEST(StreamDecoder, PrintsWhatDecodingTheWholeGivesAtBoundedCostPerToken) {
  const std::vector<std::string> lines = kjv_lines(2000);
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  const auto chars = data::CharTokenizer::from_corpus(text);
  expect_streams_like_decode(chars, 20000, 1);
  const auto words = data::WordTokenizer::from_corpus(lines, {.max_vocab = 2000});
  expect_streams_like_decode(words, 20000, 2);
  const auto pieces = data::SentencePieceTokenizer::train(lines, {.vocab_size = 500});
  expect_streams_like_decode(pieces, 20000, 3);
  // Byte-level BPE: tokens that end inside a character (random ids make many, and invalid UTF-8).
  const auto bytes = data::ByteLevelBPETokenizer::from_tokenizer_json(
      std::string(NABLA_SOURCE_DIR) + "/tests/golden/pretrained/gpt2_tiny/tokenizer.json");
  expect_streams_like_decode(bytes, 20000, 4);
}

TEST(StreamDecoder, AByteLevelCharacterSplitOverTokensPrintsOnceComplete) {
  const auto bytes = data::ByteLevelBPETokenizer::from_tokenizer_json(
      std::string(NABLA_SOURCE_DIR) + "/tests/golden/pretrained/gpt2_tiny/tokenizer.json");
  const std::string text = "In the beginning \xF0\x9F\x98\x80 God \xE4\xB8\xAD created";  // an emoji, a CJK character
  const std::vector<int64_t> ids = bytes.encode(text);
  data::StreamDecoder stream(bytes, 3);
  std::string printed;
  for (int64_t id : ids) {
    const std::string piece = stream.push(id);
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "printed a replacement character";
    printed += piece;
  }
  EXPECT_EQ(printed, text);
}

TEST(StreamDecoder, WordsAreSpacedByTheirNeighboursAsInTheWholeDecode) {
  const auto words = data::WordTokenizer::from_corpus({"And God said, let there be light: and there was light."});
  std::vector<int64_t> ids = words.encode("and god said, let there be light: and there was light.");
  data::StreamDecoder stream(words, 2);
  for (int64_t id : ids) stream.push(id);
  EXPECT_EQ(stream.text(), words.decode(ids));
}
