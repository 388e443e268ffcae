// SentencePieceTokenizer: training through SentencePieceTrainer, encoding through SentencePieceProcessor,
// and the base64 model proto that saves it inside JSON.
#include "nabla/data/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>

#include "nabla/core/random.h"
#include "nabla/data/utf8.h"

namespace nabla::data {
namespace {

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) v |= uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) v |= uint32_t(static_cast<unsigned char>(bytes[i + 2]));
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kBase64[v & 63] : '=';
  }
  return out;
}

std::string base64_decode(const std::string& text) {
  int value_of[256];
  std::fill(std::begin(value_of), std::end(value_of), -1);
  for (int i = 0; i < 64; ++i) value_of[static_cast<unsigned char>(kBase64[i])] = i;
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') break;
    if (c == '\n' || c == '\r') continue;
    const int v = value_of[static_cast<unsigned char>(c)];
    NABLA_CHECK(v >= 0, "tokenizer.model_base64: invalid base64 character at position ", i);
    buffer = (buffer << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((buffer >> bits) & 0xff);
    }
  }
  return out;
}

class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<const std::string*>& sentences) : sentences_(sentences) {}
  bool done() const override { return at_ >= sentences_.size(); }
  void Next() override { ++at_; }
  const std::string& value() const override { return *sentences_[at_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<const std::string*>& sentences_;
  size_t at_ = 0;
};

}  // namespace

SentencePieceTokenizer SentencePieceTokenizer::train(const std::vector<std::string>& sentences,
                                                     const SentencePieceOptions& options) {
  NABLA_CHECK(options.model_type == "bpe" || options.model_type == "unigram",
              "SentencePieceTokenizer: model_type must be \"bpe\" or \"unigram\", got \"", options.model_type, "\"");
  NABLA_CHECK(options.vocab_size >= 2, "SentencePieceTokenizer: vocab_size must be at least 2, got ",
              options.vocab_size);
  NABLA_CHECK(options.character_coverage > 0 && options.character_coverage <= 1,
              "SentencePieceTokenizer: character_coverage must be in (0, 1], got ", options.character_coverage);
  std::vector<const std::string*> chosen;
  for (size_t i = 0; i < sentences.size(); ++i) {
    validate_utf8(sentences[i], "SentencePiece corpus sentence " + std::to_string(i));
    if (!sentences[i].empty()) chosen.push_back(&sentences[i]);
  }
  NABLA_CHECK(!chosen.empty(), "SentencePieceTokenizer: the corpus is empty (", sentences.size(),
              " sentences, none with text)");
  if (options.max_sentences > 0 && int64_t(chosen.size()) > options.max_sentences) {
    // Our own seeded sample: SentencePiece's sampling would differ from run to run.
    Generator gen(0x5e17e9ce);
    for (int64_t i = 0; i < options.max_sentences; ++i)
      std::swap(chosen[size_t(i)], chosen[size_t(gen.randint(i, int64_t(chosen.size())))]);
    chosen.resize(size_t(options.max_sentences));
  }
  std::unordered_map<std::string, std::string> args = {
      {"model_type", options.model_type},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"character_coverage", std::to_string(options.character_coverage)},
      {"byte_fallback", options.byte_fallback ? "true" : "false"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"split_digits", "false"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", "1000000"},
      {"num_threads", std::to_string(std::max(1, options.threads))},
      {"minloglevel", "2"},  // SentencePiece logs every training step to stderr otherwise
  };
  if (options.bert_special_tokens) {
    args["pad_id"] = "0";
    args["pad_piece"] = "[PAD]";
    args["unk_id"] = "1";
    args["unk_piece"] = "[UNK]";
    args["bos_id"] = "-1";
    args["eos_id"] = "-1";
    args["user_defined_symbols"] = "[CLS],[SEP],[MASK]";
  }
  VectorIterator iterator(chosen);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &iterator, &model);
  NABLA_CHECK(status.ok(), "SentencePiece training failed: ", status.message(), " (vocab_size ", options.vocab_size,
              ", ", chosen.size(),
              " sentences; a smaller vocab_size or a "
              "larger corpus may help)");
  return SentencePieceTokenizer(std::move(model));
}

SentencePieceTokenizer::SentencePieceTokenizer(std::string serialized_model) : model_(std::move(serialized_model)) {
  auto processor = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = processor->LoadFromSerializedProto(model_);
  NABLA_CHECK(status.ok(), "SentencePieceTokenizer: the model proto does not load (", status.message(),
              "); is it a SentencePiece .model file?");
  processor_ = std::move(processor);
}

SentencePieceTokenizer SentencePieceTokenizer::from_json(const nlohmann::json& json) {
  return SentencePieceTokenizer(
      base64_decode(detail::tokenizer_field<std::string>(json, "model_base64", "a base64 SentencePiece model")));
}

std::vector<int64_t> SentencePieceTokenizer::encode(const std::string& text) const {
  validate_utf8(text, "SentencePiece input");
  std::vector<int> ids;
  const auto status = processor_->Encode(text, &ids);
  NABLA_CHECK(status.ok(), "SentencePiece encode failed: ", status.message());
  const int unk = processor_->unk_id();
  if (std::find(ids.begin(), ids.end(), unk) != ids.end()) {
    // Find which characters had no piece, to name them.
    const auto spt = processor_->EncodeAsImmutableProto(text);
    for (const auto& piece : spt.pieces())
      if (int(piece.id()) == unk)
        fail("SentencePieceTokenizer: ", describe_character(split_code_points(piece.surface()).at(0)), " at byte ",
             piece.begin(), " has no piece in the vocabulary; remove it, or train with byte_fallback = true");
  }
  return {ids.begin(), ids.end()};
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> narrow;
  narrow.reserve(ids.size());
  for (int64_t id : ids) {
    NABLA_CHECK(id >= 0 && id < vocab_size(), "SentencePieceTokenizer: cannot decode token id ", id,
                "; the vocabulary has ids 0..", vocab_size() - 1);
    narrow.push_back(int(id));
  }
  std::string text;
  const auto status = processor_->Decode(narrow, &text);
  NABLA_CHECK(status.ok(), "SentencePiece decode failed: ", status.message());
  return text;
}

int64_t SentencePieceTokenizer::vocab_size() const { return processor_->GetPieceSize(); }

std::string SentencePieceTokenizer::token(int64_t id) const {
  NABLA_CHECK(id >= 0 && id < vocab_size(), "SentencePieceTokenizer: token id ", id, " is outside the vocabulary [0, ",
              vocab_size(), ")");
  return processor_->IdToPiece(int(id));
}

nlohmann::json SentencePieceTokenizer::to_json() const {
  return {{"type", "sentencepiece"}, {"model_base64", base64_encode(model_)}};
}

}  // namespace nabla::data
