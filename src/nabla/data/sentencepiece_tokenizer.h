// Subword tokenizer through SentencePiece (BPE or unigram), trained on a corpus in memory. It is
// saved with the model as the serialized SentencePiece model proto, base64-encoded in the JSON
// ("model_base64"), so a checkpoint's config.json is self-contained (no side file to lose).
#pragma once
#include <memory>

#include "nabla/data/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace nabla::data {

struct SentencePieceOptions {
  int64_t vocab_size = 2000;
  std::string model_type = "bpe";   // "bpe" or "unigram"
  double character_coverage = 1.0;  // 1.0: every character of the corpus gets a piece
  bool byte_fallback = false;       // true: unseen characters become UTF-8 byte pieces (costs 256 ids)
  int64_t max_sentences = 0;        // > 0 trains on a seeded sample of this many sentences (faster)
  // BERT's special tokens as ids 0-4: [PAD] [UNK] [CLS] [SEP] [MASK] (no <s> </s>); [CLS], [SEP]
  // and [MASK] written in text encode as themselves. For masked-LM pretraining (data/masked_lm.h).
  bool bert_special_tokens = false;
  int threads = 2;
};

class SentencePieceTokenizer : public Tokenizer {
 public:
  // Trains on `sentences` (lines or verses; each validated as UTF-8). Text is not normalised
  // (identity rule, whitespace kept), so decode(encode(text)) == text for text the corpus covers.
  static SentencePieceTokenizer train(const std::vector<std::string>& sentences,
                                      const SentencePieceOptions& options = {});
  // A serialized model proto (a ".model" file's bytes, from here or from spm_train).
  explicit SentencePieceTokenizer(std::string serialized_model);
  static SentencePieceTokenizer from_json(const nlohmann::json& json);

  std::string type() const override { return "sentencepiece"; }
  // Characters the model cannot encode (no piece and no byte fallback) are an error naming them.
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override;
  std::string token(int64_t id) const override;
  nlohmann::json to_json() const override;  // {"type": "sentencepiece", "model_base64": "..."}

  const std::string& serialized_model() const { return model_; }

 private:
  std::string model_;
  std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor_;  // thread-safe for encode/decode
};

}  // namespace nabla::data
