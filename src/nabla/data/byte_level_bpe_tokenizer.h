// GPT-2's byte-level BPE, as Hugging Face `tokenizers` runs it: special tokens are split out
// first; the rest is cut by GPT-2's pattern (with \p{L}, \p{N} and \s exactly as `tokenizers`
// has them, whatever Unicode version this machine knows); each piece's bytes become printable
// characters (bytes_to_unicode) and are merged pair by pair, lowest merge rank first. Decoding
// maps the characters back to bytes, with invalid UTF-8 replaced by U+FFFD as Rust's from_utf8_lossy.
#pragma once
#include <array>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "nabla/data/tokenizer.h"

namespace nabla::data {

class ByteLevelBPETokenizer : public Tokenizer {
 public:
  struct Spec {
    std::vector<std::string> vocab;                           // token (byte-level characters) by id
    std::vector<std::pair<std::string, std::string>> merges;  // in rank order
    std::vector<std::pair<std::string, int64_t>> special;     // added tokens, matched before BPE
    bool add_prefix_space = false;                            // a space before text that does not start with one
    bool ignore_merges = false;  // a piece that is a whole vocabulary token is not merged (Llama 3)
  };
  // `source` names the files the spec came from, for errors (a merge whose result is not in the
  // vocabulary, a byte without a token, duplicate tokens).
  ByteLevelBPETokenizer(Spec spec, const std::string& source);

  // Hugging Face files: vocab.json + merges.txt (GPT-2's original pair), or one tokenizer.json.
  static ByteLevelBPETokenizer from_vocab_and_merges(const std::string& vocab_json, const std::string& merges_txt,
                                                     std::vector<std::pair<std::string, int64_t>> special = {});
  static ByteLevelBPETokenizer from_tokenizer_json(const std::string& path);
  static ByteLevelBPETokenizer from_json(const nlohmann::json& json);  // to_json() back

  std::string type() const override { return "byte_level_bpe"; }
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return int64_t(spec_.vocab.size()); }
  std::string token(int64_t id) const override;  // as stored: "Ġthe" for " the"
  nlohmann::json to_json() const override;

  const Spec& spec() const { return spec_; }
  // The id of a special token such as "<|endoftext|>", or -1.
  int64_t special_id(const std::string& content) const;
  // The files Hugging Face reads: vocab.json's object and merges.txt's text.
  nlohmann::json vocab_json() const;
  std::string merges_txt() const;

 private:
  static ByteLevelBPETokenizer from_tokenizer_json_checked(const std::string& path);
  void encode_ordinary(std::string_view text, std::vector<int64_t>& out) const;
  void merge_piece(std::string_view piece, std::vector<int64_t>& out) const;

  Spec spec_;
  std::unordered_map<std::string, int64_t> ids_;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left, right) -> (rank, merged id)
  std::array<int64_t, 256> byte_ids_;                                 // each byte's one-character token
  std::array<int16_t, 0x180> char_bytes_;  // byte of each bytes_to_unicode character (all < U+0180), or -1
};

// bytes_to_unicode: GPT-2's printable stand-in for each byte ("Ġ" for a space), as UTF-8.
const std::array<std::string, 256>& byte_level_alphabet();

}  // namespace nabla::data
