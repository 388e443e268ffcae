// What a BERT run answers for a text: the likeliest fillers of each [MASK] (a masked LM, as
// transformers' fill-mask pipeline) or the class probabilities (a sequence classifier).
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nabla/data/wordpiece_tokenizer.h"
#include "nabla/models/bert.h"

namespace nabla::models {

struct MaskFill {
  int64_t position = 0;                                    // in the model's input, [CLS] = 0
  std::vector<std::pair<std::string, double>> candidates;  // token and probability, likeliest first
};

// One entry per [MASK] in `text`, whose input is [CLS] text [SEP]; a text without [MASK] or longer
// than the model's positions is an error saying so. The tokenizer is an imported BERT's WordPiece
// or any with BERT's special tokens (a SentencePiece trained with them, for a nabla-pretrained BERT).
std::vector<MaskFill> fill_mask(Bert& model, const data::Tokenizer& tokenizer, const std::string& text,
                                int64_t top_k = 5);

// softmax(logits) of a classifier for [CLS] a [SEP] (b [SEP]).
std::vector<double> classify(Bert& model, const data::WordPieceTokenizer& tokenizer, const std::string& a,
                             const std::optional<std::string>& b = std::nullopt);

}  // namespace nabla::models
