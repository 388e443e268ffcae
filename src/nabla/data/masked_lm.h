// Masked-language-model data, as BERT is pretrained: each sample is [CLS] tokens... [SEP]; of the
// positions that are not special tokens, each is chosen with probability 0.15, and a chosen one
// becomes [MASK] (80%), a random token (10%) or stays (10%), with its original id as the label
// (-100, ignored by the loss, elsewhere). This is transformers' DataCollatorForLanguageModeling.
#pragma once
#include <vector>

#include "nabla/core/random.h"
#include "nabla/data/dataset.h"
#include "nabla/data/tokenizer.h"
#include "nabla/data/transforms.h"

namespace nabla::data {

// BERT's special tokens, found in a tokenizer's vocabulary by their text.
struct MaskedLMTokens {
  int64_t pad = -1, cls = -1, sep = -1, mask = -1;
};
// Errors name the tokens that are missing and how to get a tokenizer that has them.
MaskedLMTokens masked_lm_tokens(const Tokenizer& tokenizer);

struct MaskingOptions {
  double probability = 0.15;
  double mask_fraction = 0.8, random_fraction = 0.1;  // of the chosen positions; the rest stay
  int64_t vocab_size = 0;                             // random replacements are drawn from [0, vocab_size)
  MaskedLMTokens tokens;                              // never chosen, and [MASK]'s id
};

// ids i64 [B, T] -> {masked inputs, labels} (both i64 [B, T]).
std::pair<Tensor, Tensor> mask_tokens(const Tensor& ids, const MaskingOptions& options, Generator& gen);

// For training: batch.x is masked anew each time (so every epoch sees other masks), batch.y
// becomes the labels.
BatchTransform masked_lm(MaskingOptions options);

// [CLS] w [SEP] windows over a token stream, each w of seq_len - 2 ids side by side: i64 [N, seq_len].
Tensor masked_lm_windows(const std::vector<int64_t>& stream, int64_t seq_len, const MaskedLMTokens& tokens);

}  // namespace nabla::data
