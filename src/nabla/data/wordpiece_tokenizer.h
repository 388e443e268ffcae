// BERT's WordPiece, as Hugging Face `tokenizers` runs it: special tokens ([CLS], [MASK], ...) are
// cut out of the raw text; BertNormalizer cleans (drops control characters, whitespace becomes a
// space), spaces out CJK ideographs, strips accents (NFD without nonspacing marks) and lower-cases;
// BertPreTokenizer splits on whitespace and isolates punctuation; each word becomes its longest
// vocabulary prefix, then "##" continuations, greedily, or [UNK] when it cannot (or has more than
// 100 characters). The character rules come from the library itself (bert_unicode_tables.inc).
#pragma once
#include <optional>
#include <unordered_map>
#include <utility>

#include "nabla/data/tokenizer.h"

namespace nabla::data {

class WordPieceTokenizer : public Tokenizer {
 public:
  struct Spec {
    std::vector<std::string> vocab;                        // by id
    std::vector<std::pair<std::string, int64_t>> special;  // added tokens, matched on the raw text
    std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]", pad_token = "[PAD]",
                mask_token = "[MASK]";
    std::string prefix = "##";
    int64_t max_input_chars_per_word = 100;
    bool clean_text = true, handle_chinese_chars = true, lowercase = true;
    std::optional<bool> strip_accents;  // unset: follows lowercase, as BERT's
  };
  WordPieceTokenizer(Spec spec, const std::string& source);

  // Hugging Face files: tokenizer.json, or vocab.txt with tokenizer_config.json's settings.
  static WordPieceTokenizer from_tokenizer_json(const std::string& path);
  static WordPieceTokenizer from_vocab_txt(const std::string& vocab_txt, const nlohmann::json& tokenizer_config);
  static WordPieceTokenizer from_json(const nlohmann::json& json);

  std::string type() const override { return "wordpiece"; }
  // The ids of the text alone (no [CLS]/[SEP]), as add_special_tokens=False.
  std::vector<int64_t> encode(const std::string& text) const override;
  // The model's input for one text or a pair: [CLS] a [SEP] (b [SEP]), with token types 0 (a) and 1 (b).
  struct Encoding {
    std::vector<int64_t> ids, token_types;
  };
  Encoding encode_for_model(const std::string& a, const std::optional<std::string>& b = std::nullopt) const;
  // Tokens joined by spaces, "##" pieces glued to the one before, then `tokenizers`' cleanup
  // (" ." -> ".", " n't" -> "n't", ...).
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return int64_t(spec_.vocab.size()); }
  std::string token(int64_t id) const override;
  nlohmann::json to_json() const override;

  const Spec& spec() const { return spec_; }
  int64_t id_of(const std::string& token) const;  // -1 when absent
  // The text as BertNormalizer leaves it (for tests against the library's normalizer).
  std::string normalize(std::string_view text) const;

 private:
  static WordPieceTokenizer from_tokenizer_json_checked(const std::string& path);
  void encode_ordinary(std::string_view text, std::vector<int64_t>& out) const;
  void encode_word(std::string_view word, std::vector<int64_t>& out) const;

  Spec spec_;
  std::unordered_map<std::string, int64_t> ids_;
  int64_t unk_id_ = -1;
};

}  // namespace nabla::data
