// GPT-2's byte-level BPE against Hugging Face `tokenizers` (tests/golden/pretrained, made by
// make_pretrained_golden.py): ids and decoded text on a mixed corpus (accents, CJK, emoji, control
// characters, long words, random UTF-8) and on the whole KJV; its own rules; bad files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../error_message.h"
#include "nabla/core/random.h"
#include "nabla/data/byte_level_bpe_tokenizer.h"
#include "nabla/data/input_file.h"
#include "nabla/data/text_corpus.h"
#include "nabla/data/utf8.h"
#include "pretrained_golden.h"

using namespace nabla;
using nabla::test_support::error_of;
using nabla::test_support::fnv1a64_hex;
using nabla::test_support::lines_of;
using nabla::test_support::read_file;
namespace fs = std::filesystem;

namespace {

const std::string& kDir = test_support::kPretrainedDir;

const data::ByteLevelBPETokenizer& gpt2() {
  static const auto tok = data::ByteLevelBPETokenizer::from_tokenizer_json(kDir + "gpt2_tiny/tokenizer.json");
  return tok;
}

std::vector<std::string> mixed_lines() { return lines_of("mixed_corpus.txt"); }

const nlohmann::json& expected_ids() {
  static const nlohmann::json j = data::read_json_input(kDir + "tokenizer_ids.json", "golden ids");
  return j;
}

}  // namespace

TEST(ByteLevelBPE, MatchesHuggingFaceOnTheMixedCorpus) {
  const auto lines = mixed_lines();
  const nlohmann::json& ids = expected_ids().at("gpt2");
  const nlohmann::json& decoded = expected_ids().at("gpt2_decoded");
  ASSERT_EQ(lines.size(), ids.size());
  int mismatches = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto got = gpt2().encode(lines[i]);
    const auto want = ids[i].get<std::vector<int64_t>>();
    EXPECT_EQ(got, want) << "line " << i + 1 << ": " << lines[i];
    EXPECT_EQ(gpt2().decode(want), decoded[i].get<std::string>()) << "line " << i + 1;
    mismatches += got != want;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(ByteLevelBPE, MatchesHuggingFaceOnTheWholeKjv) {
  ASSERT_TRUE(fs::exists(data::default_kjv_path())) << data::default_kjv_path() << " is missing; run `make setup`";
  const std::string text = read_file(data::default_kjv_path());
  const nlohmann::json& want = data::read_json_input(kDir + "kjv_ids.json", "golden KJV ids");
  ASSERT_EQ(want.at("file_bytes").get<size_t>(), text.size()) << "a different KJV export than the golden file's";
  const auto ids = gpt2().encode(text);
  const nlohmann::json& g = want.at("gpt2");
  ASSERT_EQ(int64_t(ids.size()), g.at("count").get<int64_t>());
  const auto head = g.at("head").get<std::vector<int64_t>>();
  EXPECT_EQ(std::vector<int64_t>(ids.begin(), ids.begin() + int64_t(head.size())), head);
  const size_t chunk = g.at("chunk").get<size_t>();
  const auto& hashes = g.at("fnv1a64");
  ASSERT_EQ(hashes.size(), (ids.size() + chunk - 1) / chunk);
  for (size_t c = 0; c < hashes.size(); ++c)
    ASSERT_EQ(fnv1a64_hex(ids, c * chunk, std::min(ids.size(), (c + 1) * chunk)), hashes[c].get<std::string>())
        << "ids " << c * chunk << " to " << (c + 1) * chunk << " differ";
  EXPECT_EQ(gpt2().decode(ids), text);
}

TEST(ByteLevelBPE, VocabAndMergesFilesGiveTheSameTokenizer) {
  const auto from_files =
      data::ByteLevelBPETokenizer::from_vocab_and_merges(kDir + "gpt2_tiny/vocab.json", kDir + "gpt2_tiny/merges.txt",
                                                         {{"<|endoftext|>", gpt2().special_id("<|endoftext|>")}});
  EXPECT_EQ(from_files.vocab_size(), gpt2().vocab_size());
  for (const std::string& line : mixed_lines()) EXPECT_EQ(from_files.encode(line), gpt2().encode(line)) << line;
  // And its own saved form (a run's config.json) too.
  const auto restored = data::make_tokenizer(gpt2().to_json());
  EXPECT_EQ(restored->type(), "byte_level_bpe");
  for (const std::string& line : mixed_lines()) EXPECT_EQ(restored->encode(line), gpt2().encode(line)) << line;
}

TEST(ByteLevelBPE, SpecialTokensAreCutOutBeforeTheMerges) {
  const int64_t eot = gpt2().special_id("<|endoftext|>");
  ASSERT_GE(eot, 0);
  const auto ids = gpt2().encode("Amen.<|endoftext|>In the beginning");
  const auto before = gpt2().encode("Amen."), after = gpt2().encode("In the beginning");
  std::vector<int64_t> want = before;
  want.push_back(eot);
  want.insert(want.end(), after.begin(), after.end());
  EXPECT_EQ(ids, want);
  EXPECT_EQ(gpt2().decode(ids), "Amen.<|endoftext|>In the beginning");
}

TEST(ByteLevelBPE, RoundTripsRandomUtf8AndLongWords) {
  Generator gen(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::string text;
    const int64_t length = gen.randint(0, 60);
    for (int64_t i = 0; i < length; ++i) {
      uint32_t cp = uint32_t(gen.randint(1, 0x10FFFF));
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = ' ';
      data::append_utf8(cp, text);
    }
    EXPECT_EQ(gpt2().decode(gpt2().encode(text)), text);
  }
  // One 180,000-letter word: the merges run on a heap, not by rescanning the word per merge.
  std::string word;
  for (int i = 0; i < 20000; ++i) word += "beginning";
  const auto ids = gpt2().encode(word);
  EXPECT_LT(ids.size(), word.size() * 3 / 4);  // merged (the tiny vocabulary has no "beginning")
  EXPECT_EQ(gpt2().decode(ids), word);
}

TEST(ByteLevelBPE, DecodingInvalidBytesReplacesMaximalSubpartsAsRustDoes) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(data::utf8_lossy("a\xF0\x90\x80z"), "a" + r + "z");         // a truncated 4-byte sequence: one
  EXPECT_EQ(data::utf8_lossy("\xC0\x80"), r + r);                       // overlong lead: each byte
  EXPECT_EQ(data::utf8_lossy("\xED\xA0\x80"), r + r + r);               // a surrogate: each byte
  EXPECT_EQ(data::utf8_lossy("\xE2\x82\xAC\xFF"), "\xE2\x82\xAC" + r);  // € then a stray byte
  // The tokens of a character split apart decode to U+FFFD each, as `tokenizers` prints them.
  const auto ids = gpt2().encode("\xF0\x9F\x98\x80");  // 😀
  if (ids.size() > 1) EXPECT_NE(gpt2().decode({ids[0]}).find(r), std::string::npos);
}

TEST(ByteLevelBPE, BadFilesAreErrorsNamingTheFile) {
  const fs::path dir = fs::temp_directory_path() / "nabla_bpe_test";
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  };
  const std::string vocab = write("vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  std::string e = error_of([&] {
    data::ByteLevelBPETokenizer::from_vocab_and_merges(vocab, write("merges.txt", "#version: 0.2\na b\nab c\n"));
  });
  EXPECT_NE(e.find("merges.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("merge 2"), std::string::npos) << e;
  e = error_of(
      [&] { data::ByteLevelBPETokenizer::from_vocab_and_merges(write("gap.json", R"({"a": 0, "b": 5})"), vocab); });
  EXPECT_NE(e.find("gap.json"), std::string::npos) << e;
  EXPECT_NE(e.find("without gaps"), std::string::npos) << e;
  e = error_of([&] { data::ByteLevelBPETokenizer::from_vocab_and_merges(vocab, write("bad.txt", "a  b\n")); });
  EXPECT_NE(e.find("bad.txt:1"), std::string::npos) << e;
  e = error_of([&] {
    data::ByteLevelBPETokenizer::from_tokenizer_json(
        write("wp.json", R"({"model": {"type": "Unigram", "vocab": []}})"));
  });
  EXPECT_NE(e.find("model.type is Unigram"), std::string::npos) << e;
  // A vocabulary without all 256 byte tokens cannot encode every text: the byte is named.
  const auto small = data::ByteLevelBPETokenizer::from_vocab_and_merges(vocab, write("m.txt", "a b\n"));
  EXPECT_EQ(small.encode("ab"), std::vector<int64_t>({2}));
  e = error_of([&] { small.encode("c"); });
  EXPECT_NE(e.find("byte 99"), std::string::npos) << e;
  e = error_of([&] { gpt2().encode(std::string("a\xFF", 2)); });
  EXPECT_NE(e.find("UTF-8"), std::string::npos) << e;
  fs::remove_all(dir);
}

TEST(ByteLevelBPE, MatchesHuggingFaceOnRandomTextFromEveryUnicodeVersion) {
  // Letters and digits new in Unicode 15.0 and 16.0 included: the classes come from tokenizers.
  const auto lines = lines_of("any_unicode.txt");
  const nlohmann::json want = data::read_json_input(kDir + "any_unicode_ids.json", "golden ids");
  ASSERT_EQ(lines.size(), want.at("gpt2").size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(gpt2().encode(lines[i]), want["gpt2"][i].get<std::vector<int64_t>>()) << "line " << i + 1;
    EXPECT_EQ(gpt2().decode(want["gpt2"][i].get<std::vector<int64_t>>()), want["gpt2_decoded"][i].get<std::string>())
        << "line " << i + 1;
  }
}
