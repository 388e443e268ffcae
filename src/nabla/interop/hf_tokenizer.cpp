// read_hf_tokenizer / write_hf_tokenizer: the files each tokenizer family keeps.
#include "nabla/interop/hf_tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "nabla/core/error.h"
#include "nabla/data/byte_level_bpe_tokenizer.h"
#include "nabla/data/input_file.h"
#include "nabla/data/wordpiece_tokenizer.h"
#include "nabla/io/atomic_file.h"
#include "nabla/io/checkpoint.h"

namespace nabla::interop {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Special tokens named by tokenizer_config.json: added_tokens_decoder and the bos/eos/unk/pad
// entries (strings, or objects with "content").
std::vector<std::pair<std::string, int64_t>> special_tokens(const fs::path& root, const json& vocab) {
  std::vector<std::pair<std::string, int64_t>> special;
  const fs::path config = root / "tokenizer_config.json";
  if (!fs::exists(config)) {
    if (vocab.contains("<|endoftext|>")) special.emplace_back("<|endoftext|>", vocab["<|endoftext|>"].get<int64_t>());
    return special;
  }
  const json c = data::read_json_input(config.string(), "tokenizer_config.json");
  auto add = [&](const std::string& content) {
    for (const auto& s : special)
      if (s.first == content) return;
    if (vocab.contains(content) && vocab[content].is_number_integer())
      special.emplace_back(content, vocab[content].get<int64_t>());
  };
  if (c.contains("added_tokens_decoder") && c["added_tokens_decoder"].is_object())
    for (const auto& [id, token] : c["added_tokens_decoder"].items())
      if (token.is_object() && token.contains("content") && token["content"].is_string())
        add(token["content"].get<std::string>());
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    if (!c.contains(key)) continue;
    const json& t = c[key];
    if (t.is_string())
      add(t.get<std::string>());
    else if (t.is_object() && t.contains("content") && t["content"].is_string())
      add(t["content"].get<std::string>());
  }
  return special;
}

json added_token(const std::string& content, int64_t id) {
  return {{"id", id},        {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", true}, {"special", true}};
}

void write_text(const fs::path& path, const std::string& text) {
  io::write_file_atomically(path.string(), [&](int fd) { io::write_all(fd, text.data(), text.size(), path.string()); });
}

}  // namespace

std::unique_ptr<data::Tokenizer> read_hf_tokenizer(const std::string& dir) {
  const fs::path root(dir);
  if (fs::exists(root / "tokenizer.json")) {
    const std::string path = (root / "tokenizer.json").string();
    const json file = data::read_json_input(path, "tokenizer.json");
    const std::string model = file.is_object() && file.contains("model") && file["model"].is_object()
                                  ? file["model"].value("type", std::string())
                                  : std::string();
    if (model == "WordPiece")
      return std::make_unique<data::WordPieceTokenizer>(data::WordPieceTokenizer::from_tokenizer_json(path));
    return std::make_unique<data::ByteLevelBPETokenizer>(data::ByteLevelBPETokenizer::from_tokenizer_json(path));
  }
  if (fs::exists(root / "vocab.txt")) {  // BERT's WordPiece, configured by tokenizer_config.json
    const fs::path config = root / "tokenizer_config.json";
    const json settings = fs::exists(config) ? data::read_json_input(config.string(), "tokenizer_config.json") : json();
    return std::make_unique<data::WordPieceTokenizer>(
        data::WordPieceTokenizer::from_vocab_txt((root / "vocab.txt").string(), settings));
  }
  if (fs::exists(root / "vocab.json") && fs::exists(root / "merges.txt")) {
    const json vocab = data::read_json_input((root / "vocab.json").string(), "tokenizer vocabulary");
    NABLA_CHECK(vocab.is_object(), dir, "/vocab.json: expected an object of token -> id");
    return std::make_unique<data::ByteLevelBPETokenizer>(data::ByteLevelBPETokenizer::from_vocab_and_merges(
        (root / "vocab.json").string(), (root / "merges.txt").string(), special_tokens(root, vocab)));
  }
  fail(dir, ": no tokenizer; expected tokenizer.json, vocab.json with merges.txt (GPT-2) or vocab.txt (BERT)");
}

namespace {

void write_wordpiece(const fs::path& root, const data::WordPieceTokenizer& wp, int64_t max_length) {
  const auto& spec = wp.spec();
  std::string vocab;
  for (const std::string& t : spec.vocab) vocab += t + "\n";
  write_text(root / "vocab.txt", vocab);
  json added = json::array();
  for (const auto& [content, id] : spec.special) {
    json t = added_token(content, id);
    t["normalized"] = false;
    added.push_back(t);
  }
  std::sort(added.begin(), added.end(), [](const json& a, const json& b) { return a["id"] < b["id"]; });
  json vocab_map = json::object();
  for (size_t i = 0; i < spec.vocab.size(); ++i) vocab_map[spec.vocab[i]] = i;
  const json strip = spec.strip_accents ? json(*spec.strip_accents) : json();
  auto special = [&](const std::string& t) { return json{{"SpecialToken", {{"id", t}, {"type_id", 0}}}}; };
  auto special_b = [&](const std::string& t) { return json{{"SpecialToken", {{"id", t}, {"type_id", 1}}}}; };
  auto sequence = [](const char* id, int type) { return json{{"Sequence", {{"id", id}, {"type_id", type}}}}; };
  json special_tokens = json::object();
  for (const std::string& t : {spec.cls_token, spec.sep_token})
    special_tokens[t] = {{"id", t}, {"ids", {wp.id_of(t)}}, {"tokens", {t}}};
  const json file = {{"version", "1.0"},
                     {"truncation", nullptr},
                     {"padding", nullptr},
                     {"added_tokens", added},
                     {"normalizer",
                      {{"type", "BertNormalizer"},
                       {"clean_text", spec.clean_text},
                       {"handle_chinese_chars", spec.handle_chinese_chars},
                       {"strip_accents", strip},
                       {"lowercase", spec.lowercase}}},
                     {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
                     {"post_processor",
                      {{"type", "TemplateProcessing"},
                       {"single", {special(spec.cls_token), sequence("A", 0), special(spec.sep_token)}},
                       {"pair",
                        {special(spec.cls_token), sequence("A", 0), special(spec.sep_token), sequence("B", 1),
                         special_b(spec.sep_token)}},
                       {"special_tokens", special_tokens}}},
                     {"decoder", {{"type", "WordPiece"}, {"prefix", spec.prefix}, {"cleanup", true}}},
                     {"model",
                      {{"type", "WordPiece"},
                       {"unk_token", spec.unk_token},
                       {"continuing_subword_prefix", spec.prefix},
                       {"max_input_chars_per_word", spec.max_input_chars_per_word},
                       {"vocab", vocab_map}}}};
  io::save_json((root / "tokenizer.json").string(), file);
  json config = {{"tokenizer_class", "BertTokenizer"},
                 {"model_max_length", max_length},
                 {"do_lower_case", spec.lowercase},
                 {"strip_accents", strip},
                 {"tokenize_chinese_chars", spec.handle_chinese_chars},
                 {"unk_token", spec.unk_token},
                 {"cls_token", spec.cls_token},
                 {"sep_token", spec.sep_token},
                 {"pad_token", spec.pad_token},
                 {"mask_token", spec.mask_token}};
  io::save_json((root / "tokenizer_config.json").string(), config);
}

}  // namespace

void write_hf_tokenizer(const std::string& dir, const data::Tokenizer& tokenizer, int64_t max_length) {
  if (const auto* wp = dynamic_cast<const data::WordPieceTokenizer*>(&tokenizer)) {
    write_wordpiece(fs::path(dir), *wp, max_length);
    return;
  }
  const auto* bpe = dynamic_cast<const data::ByteLevelBPETokenizer*>(&tokenizer);
  NABLA_CHECK(bpe, "export: a \"", tokenizer.type(),
              "\" tokenizer has no Hugging Face form; byte-level BPE (GPT-2) and WordPiece (BERT) tokenizers export");
  const fs::path root(dir);
  const auto& spec = bpe->spec();
  json merges = json::array();
  for (const auto& [l, r] : spec.merges) merges.push_back({l, r});
  json added = json::array();
  for (const auto& [content, id] : spec.special) added.push_back(added_token(content, id));
  std::sort(added.begin(), added.end(), [](const json& a, const json& b) { return a["id"] < b["id"]; });
  const json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", spec.add_prefix_space}, {"trim_offsets", true}, {"use_regex", true}};
  const json file = {{"version", "1.0"},
                     {"truncation", nullptr},
                     {"padding", nullptr},
                     {"added_tokens", added},
                     {"normalizer", nullptr},
                     {"pre_tokenizer", byte_level},
                     {"post_processor", byte_level},
                     {"decoder", byte_level},
                     {"model",
                      {{"type", "BPE"},
                       {"dropout", nullptr},
                       {"unk_token", nullptr},
                       {"continuing_subword_prefix", nullptr},
                       {"end_of_word_suffix", nullptr},
                       {"fuse_unk", false},
                       {"byte_fallback", false},
                       {"ignore_merges", spec.ignore_merges},
                       {"vocab", bpe->vocab_json()},
                       {"merges", merges}}}};
  io::save_json((root / "tokenizer.json").string(), file);
  io::save_json((root / "vocab.json").string(), bpe->vocab_json());
  write_text(root / "merges.txt", bpe->merges_txt());
  json config = {{"tokenizer_class", "GPT2Tokenizer"},
                 {"model_max_length", max_length},
                 {"add_prefix_space", spec.add_prefix_space},
                 {"clean_up_tokenization_spaces", false}};
  json decoder = json::object();
  for (const auto& [content, id] : spec.special) decoder[std::to_string(id)] = added_token(content, id);
  config["added_tokens_decoder"] = decoder;
  if (const int64_t eos = bpe->special_id("<|endoftext|>"); eos >= 0)
    for (const char* key : {"bos_token", "eos_token", "unk_token"}) config[key] = "<|endoftext|>";
  io::save_json((root / "tokenizer_config.json").string(), config);
}

}  // namespace nabla::interop
