// Character-level tokenizer: one id per Unicode code point of the training corpus, in sorted order
// so the same corpus always gives the same ids.
#pragma once
#include <array>
#include <unordered_map>

#include "nabla/data/tokenizer.h"

namespace nabla::data {

class CharTokenizer : public Tokenizer {
 public:
  // `characters`: distinct UTF-8 code points, id = position. With with_unk, "<unk>" is appended as
  // the last id and unseen characters encode to it (and decode as U+FFFD); without it they are an
  // error naming the character.
  explicit CharTokenizer(std::vector<std::string> characters, bool with_unk = false);
  // The sorted distinct code points of `corpus` (which must be valid UTF-8 and not empty).
  static CharTokenizer from_corpus(const std::string& corpus, bool with_unk = false);
  static CharTokenizer from_json(const nlohmann::json& json);

  std::string type() const override { return "char"; }
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return int64_t(characters_.size()) + (unk_id_ >= 0 ? 1 : 0); }
  std::string token(int64_t id) const override;
  nlohmann::json to_json() const override;  // {"type": "char", "characters": [...], "unk": bool}

  int64_t unk_id() const { return unk_id_; }  // -1 without <unk>

 private:
  std::vector<std::string> characters_;
  std::unordered_map<std::string, int64_t> ids_;
  std::array<int64_t, 128> ascii_ids_;  // the common case without a hash lookup; -1 = not in vocab
  int64_t unk_id_ = -1;
};

}  // namespace nabla::data
