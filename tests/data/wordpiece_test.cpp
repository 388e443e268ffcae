// BERT's WordPiece against Hugging Face `tokenizers` (tests/golden/pretrained): the normalized
// text, ids and decoded text of every line of the mixed corpus, sentence pairs with token types,
// the whole KJV, its own rules ([UNK] words, the 100-character limit) and bad files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../error_message.h"
#include "nabla/data/input_file.h"
#include "nabla/data/text_corpus.h"
#include "nabla/data/wordpiece_tokenizer.h"
#include "pretrained_golden.h"

using namespace nabla;
using nabla::test_support::error_of;
using nabla::test_support::fnv1a64_hex;
using nabla::test_support::lines_of;
using nabla::test_support::read_file;
namespace fs = std::filesystem;

namespace {

const std::string& kDir = test_support::kPretrainedDir;

const data::WordPieceTokenizer& bert() {
  static const auto tok = data::WordPieceTokenizer::from_tokenizer_json(kDir + "bert_tiny/tokenizer.json");
  return tok;
}

std::vector<std::string> mixed_lines() { return lines_of("mixed_corpus.txt"); }

const nlohmann::json& golden() {
  static const nlohmann::json j = data::read_json_input(kDir + "tokenizer_ids.json", "golden ids");
  return j;
}

}  // namespace

TEST(WordPiece, MatchesHuggingFaceOnTheMixedCorpus) {
  const auto lines = mixed_lines();
  ASSERT_EQ(lines.size(), golden().at("bert").size());
  int mismatches = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(bert().normalize(lines[i]), golden()["bert_normalized"][i].get<std::string>()) << "line " << i + 1;
    const auto want = golden()["bert"][i].get<std::vector<int64_t>>();
    const auto got = bert().encode(lines[i]);
    EXPECT_EQ(got, want) << "line " << i + 1 << ": " << lines[i];
    EXPECT_EQ(bert().decode(want), golden()["bert_decoded"][i].get<std::string>()) << "line " << i + 1;
    mismatches += got != want;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(WordPiece, SentencePairsGetClsSepAndTokenTypes) {
  for (const nlohmann::json& pair : golden().at("bert_pairs")) {
    const auto e = bert().encode_for_model(pair["a"].get<std::string>(), pair["b"].get<std::string>());
    EXPECT_EQ(e.ids, pair["input_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(e.token_types, pair["token_type_ids"].get<std::vector<int64_t>>());
  }
}

TEST(WordPiece, MatchesHuggingFaceOnTheWholeKjv) {
  ASSERT_TRUE(fs::exists(data::default_kjv_path())) << data::default_kjv_path() << " is missing; run `make setup`";
  const std::string text = read_file(data::default_kjv_path());
  const nlohmann::json want = data::read_json_input(kDir + "kjv_ids.json", "golden KJV ids").at("bert");
  const auto ids = bert().encode(text);
  ASSERT_EQ(int64_t(ids.size()), want.at("count").get<int64_t>());
  const size_t chunk = want.at("chunk").get<size_t>();
  for (size_t c = 0; c < want.at("fnv1a64").size(); ++c) {
    ASSERT_EQ(fnv1a64_hex(ids, c * chunk, std::min(ids.size(), (c + 1) * chunk)), want["fnv1a64"][c].get<std::string>())
        << "ids " << c * chunk << " on differ";
  }
}

TEST(WordPiece, UnknownAndOverlongWordsAreOneUnk) {
  const int64_t unk = bert().id_of("[UNK]");
  EXPECT_EQ(bert().encode(std::string(101, 'a')), std::vector<int64_t>({unk}));
  EXPECT_EQ(bert().encode("\xF0\x9F\x98\x80"), std::vector<int64_t>({unk}));  // 😀 is in no piece
  // [MASK] in the raw text is the special token, not five characters.
  const auto ids = bert().encode("let there be [MASK].");
  EXPECT_NE(std::find(ids.begin(), ids.end(), bert().id_of("[MASK]")), ids.end());
  // Its saved form gives the same tokenizer.
  const auto restored = data::make_tokenizer(bert().to_json());
  for (const std::string& line : mixed_lines()) EXPECT_EQ(restored->encode(line), bert().encode(line));
  // And vocab.txt with tokenizer_config.json gives the same ids.
  const auto from_txt = data::WordPieceTokenizer::from_vocab_txt(
      kDir + "bert_tiny/vocab.txt", data::read_json_input(kDir + "bert_tiny/tokenizer_config.json", "config"));
  for (const std::string& line : mixed_lines()) EXPECT_EQ(from_txt.encode(line), bert().encode(line)) << line;
}

TEST(WordPiece, BadFilesAreErrorsNamingTheFile) {
  const fs::path dir = fs::temp_directory_path() / "nabla_wordpiece_test";
  fs::create_directories(dir);
  std::ofstream(dir / "vocab.txt") << "[PAD]\nthe\n";
  std::string e = error_of([&] { data::WordPieceTokenizer::from_vocab_txt((dir / "vocab.txt").string(), {}); });
  EXPECT_NE(e.find("vocab.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("[UNK]"), std::string::npos) << e;
  std::ofstream(dir / "t.json") << R"({"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 0}}})";
  e = error_of([&] { data::WordPieceTokenizer::from_tokenizer_json((dir / "t.json").string()); });
  EXPECT_NE(e.find("t.json"), std::string::npos) << e;
  fs::remove_all(dir);
}

TEST(WordPiece, MatchesHuggingFaceOnRandomTextFromEveryUnicodeVersion) {
  // Letters and digits new in Unicode 15.0 and 16.0 included: the classes come from tokenizers.
  const auto lines = lines_of("any_unicode.txt");
  const nlohmann::json want = data::read_json_input(kDir + "any_unicode_ids.json", "golden ids");
  ASSERT_EQ(lines.size(), want.at("bert").size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(bert().encode(lines[i]), want["bert"][i].get<std::vector<int64_t>>()) << "line " << i + 1;
    EXPECT_EQ(bert().decode(want["bert"][i].get<std::vector<int64_t>>()), want["bert_decoded"][i].get<std::string>())
        << "line " << i + 1;
  }
}
