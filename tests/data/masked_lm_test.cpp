// Masked-LM data: BERT's masking distribution on a large sample, windows, and the special tokens a
// tokenizer must have (SentencePiece trained with them).
#include "nabla/data/masked_lm.h"

#include <gtest/gtest.h>

#include "../error_message.h"
#include "nabla/core/creation.h"
#include "nabla/data/char_tokenizer.h"
#include "nabla/data/sentencepiece_tokenizer.h"
#include "nabla/data/text_corpus.h"

using namespace nabla;
using nabla::test_support::error_of;

TEST(MaskedLM, ChoosesFifteenPercentThenMasksEightyRandomTenKeepsTen) {
  // 400 windows of 512: [CLS] at the start, [SEP] at the end, ordinary ids 5 .. 1004 between.
  const data::MaskedLMTokens specials{.pad = 0, .cls = 2, .sep = 3, .mask = 4};
  std::vector<int64_t> stream;
  Generator draw(1);
  for (int i = 0; i < 400 * 510; ++i) stream.push_back(draw.randint(5, 1005));
  const Tensor windows = data::masked_lm_windows(stream, 512, specials);
  ASSERT_EQ(windows.shape(), Shape({400, 512}));
  Generator gen(2);
  const auto [inputs, labels] = data::mask_tokens(windows, {.vocab_size = 1005, .tokens = specials}, gen);
  const int64_t* w = windows.data<int64_t>();
  const int64_t *x = inputs.data<int64_t>(), *y = labels.data<int64_t>();
  double chosen = 0, masked = 0, replaced = 0, kept = 0, ordinary = 0;
  for (int64_t i = 0; i < windows.numel(); ++i) {
    const bool special = i % 512 == 0 || i % 512 == 511;
    if (special) {
      EXPECT_EQ(w[i], i % 512 == 0 ? specials.cls : specials.sep);
      EXPECT_EQ(y[i], -100) << "a special token is never chosen";
      EXPECT_EQ(x[i], w[i]);
      continue;
    }
    ++ordinary;
    if (y[i] == -100) {
      EXPECT_EQ(x[i], w[i]) << "an unchosen token is left as it is";
      continue;
    }
    EXPECT_EQ(y[i], w[i]) << "the label is the original token";
    ++chosen;
    masked += x[i] == specials.mask;
    replaced += x[i] != specials.mask && x[i] != w[i];
    kept += x[i] == w[i];
  }
  // 204,000 positions: the binomial standard errors are 0.0008 (chosen) and under 0.003 (shares).
  EXPECT_NEAR(chosen / ordinary, 0.15, 0.004);
  EXPECT_NEAR(masked / chosen, 0.8, 0.01);
  EXPECT_NEAR(replaced / chosen, 0.1, 0.008);
  EXPECT_NEAR(kept / chosen, 0.1, 0.008);
}

TEST(MaskedLM, SentencePieceWithBertSpecialTokens) {
  std::vector<std::string> lines;
  const auto verses = data::load_kjv();
  for (size_t i = 0; i < 2000; ++i) lines.push_back(verses[i].text);
  const auto tok = data::SentencePieceTokenizer::train(lines, {.vocab_size = 400, .bert_special_tokens = true});
  const data::MaskedLMTokens t = data::masked_lm_tokens(tok);
  EXPECT_EQ(t.pad, 0);
  EXPECT_EQ(t.cls, 2);
  EXPECT_EQ(t.sep, 3);
  EXPECT_EQ(t.mask, 4);
  EXPECT_EQ(tok.token(1), "[UNK]");
  // [MASK] written in text is the mask token, so `nabla predict` can take "... [MASK] ...".
  const std::vector<int64_t> ids = tok.encode("Let there be [MASK].");
  EXPECT_NE(std::find(ids.begin(), ids.end(), t.mask), ids.end());
  EXPECT_EQ(tok.decode(tok.encode("And God said")), "And God said");
}

TEST(MaskedLM, ATokenizerWithoutTheSpecialTokensIsNamed) {
  const auto chars = data::CharTokenizer::from_corpus("abc");
  const std::string message = error_of([&] { data::masked_lm_tokens(chars); });
  EXPECT_NE(message.find("[CLS], [SEP], [MASK]"), std::string::npos) << message;
  EXPECT_NE(message.find("special_tokens"), std::string::npos) << message;
}
