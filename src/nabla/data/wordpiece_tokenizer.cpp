// WordPieceTokenizer: BertNormalizer and BertPreTokenizer over the generated character tables,
// then greedy longest-match-first WordPiece.
#include "nabla/data/wordpiece_tokenizer.h"

#include <algorithm>
#include <cstring>

#include "nabla/core/error.h"
#include "nabla/data/input_file.h"
#include "nabla/data/utf8.h"

namespace nabla::data {
namespace {

struct CodeRange {
  uint32_t first, last;
};
struct CodeMapping {
  uint32_t from;
  const char* to;
};
#include "nabla/data/bert_unicode_tables.inc"

template <size_t N>
bool in(const CodeRange (&table)[N], uint32_t c) {
  const auto it = std::upper_bound(std::begin(table), std::end(table), c,
                                   [](uint32_t v, const CodeRange& r) { return v < r.first; });
  return it != std::begin(table) && c <= std::prev(it)->last;
}

template <size_t N>
const char* mapped(const CodeMapping (&table)[N], uint32_t c) {
  const auto it = std::lower_bound(std::begin(table), std::end(table), c,
                                   [](const CodeMapping& m, uint32_t v) { return m.from < v; });
  return it != std::end(table) && it->from == c ? it->to : nullptr;
}

void append_lowercase(uint32_t c, bool lowercase, std::string& out) {
  if (const char* low = lowercase ? mapped(kLowercase, c) : nullptr)
    out += low;
  else
    append_utf8(c, out);
}

// `tokenizers`' WordPiece decoder cleanup, applied to each token with its leading space.
std::string cleanup(std::string token) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},           {" !", "!"},   {" ,", ","},     {" ' ", "'"},   {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    std::string result;
    const size_t n = std::strlen(from);
    size_t at = 0;
    for (size_t hit; (hit = token.find(from, at)) != std::string::npos; at = hit + n)
      result += token.substr(at, hit - at) + to;
    token = result + token.substr(at);
  }
  return token;
}

std::vector<std::string> vocab_lines(const std::string& path) {
  const std::string text = data::read_input_file(path, "tokenizer vocabulary", data::kMaxJsonFileBytes);
  validate_utf8(text, path);
  std::vector<std::string> vocab;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(line);
    begin = end + 1;
  }
  return vocab;
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(Spec spec, const std::string& source) : spec_(std::move(spec)) {
  NABLA_CHECK(!spec_.vocab.empty(), source, ": the vocabulary is empty");
  for (size_t i = 0; i < spec_.vocab.size(); ++i) ids_.emplace(spec_.vocab[i], int64_t(i));
  NABLA_CHECK(ids_.size() == spec_.vocab.size(), source, ": the vocabulary holds a token twice");
  unk_id_ = id_of(spec_.unk_token);
  NABLA_CHECK(unk_id_ >= 0, source, ": the unknown token ", spec_.unk_token, " is not in the vocabulary");
  NABLA_CHECK(spec_.max_input_chars_per_word > 0, source, ": max_input_chars_per_word must be positive");
  for (const auto& [content, id] : spec_.special)
    NABLA_CHECK(!content.empty() && id >= 0 && id < vocab_size(), source, ": special token \"", content, "\" has id ",
                id, " outside the vocabulary of ", vocab_size());
  std::stable_sort(spec_.special.begin(), spec_.special.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

WordPieceTokenizer WordPieceTokenizer::from_tokenizer_json(const std::string& path) {
  return detail::naming_malformed_json(path, from_tokenizer_json_checked);
}

WordPieceTokenizer WordPieceTokenizer::from_tokenizer_json_checked(const std::string& path) {
  const nlohmann::json file = data::read_json_input(path, "tokenizer.json");
  NABLA_CHECK(file.is_object() && file.contains("model") && file["model"].is_object(), path, ": missing \"model\"");
  const nlohmann::json& model = file["model"];
  NABLA_CHECK(model.value("type", "") == "WordPiece", path, ": model.type is not WordPiece");
  Spec spec;
  spec.vocab = detail::tokens_by_id(model.value("vocab", nlohmann::json()), path + " (model.vocab)");
  spec.unk_token = model.value("unk_token", spec.unk_token);
  spec.prefix = model.value("continuing_subword_prefix", spec.prefix);
  spec.max_input_chars_per_word = model.value("max_input_chars_per_word", spec.max_input_chars_per_word);
  const nlohmann::json normalizer = file.value("normalizer", nlohmann::json());
  if (normalizer.is_null()) {
    spec.clean_text = spec.handle_chinese_chars = spec.lowercase = false;
    spec.strip_accents = false;
  } else {
    NABLA_CHECK(normalizer.value("type", "") == "BertNormalizer", path,
                ": normalizer must be BertNormalizer (or none), got ", normalizer.dump().substr(0, 120));
    spec.clean_text = normalizer.value("clean_text", true);
    spec.handle_chinese_chars = normalizer.value("handle_chinese_chars", true);
    spec.lowercase = normalizer.value("lowercase", true);
    if (normalizer.contains("strip_accents") && normalizer["strip_accents"].is_boolean())
      spec.strip_accents = normalizer["strip_accents"].get<bool>();
  }
  const nlohmann::json pre = file.value("pre_tokenizer", nlohmann::json());
  NABLA_CHECK(pre.is_object() && pre.value("type", "") == "BertPreTokenizer", path,
              ": pre_tokenizer must be BertPreTokenizer, got ", pre.dump().substr(0, 120));
  if (file.contains("added_tokens") && file["added_tokens"].is_array())
    for (const nlohmann::json& t : file["added_tokens"]) {
      NABLA_CHECK(t.is_object() && t.contains("id") && t["id"].is_number_integer() && t.contains("content") &&
                      t["content"].is_string(),
                  path, ": each added token needs an integer \"id\" and a string \"content\"");
      spec.special.emplace_back(t["content"].get<std::string>(), t["id"].get<int64_t>());
    }
  return WordPieceTokenizer(std::move(spec), path);
}

WordPieceTokenizer WordPieceTokenizer::from_vocab_txt(const std::string& vocab_txt, const nlohmann::json& given) {
  const nlohmann::json config = given.is_object() ? given : nlohmann::json::object();
  Spec spec;
  spec.vocab = vocab_lines(vocab_txt);
  while (!spec.vocab.empty() && spec.vocab.back().empty()) spec.vocab.pop_back();  // the final newline
  auto text = [&](const char* key, std::string& value) {
    if (config.contains(key) && config[key].is_string()) value = config[key].get<std::string>();
  };
  text("unk_token", spec.unk_token);
  text("cls_token", spec.cls_token);
  text("sep_token", spec.sep_token);
  text("pad_token", spec.pad_token);
  text("mask_token", spec.mask_token);
  spec.lowercase = config.value("do_lower_case", true);
  spec.handle_chinese_chars = config.value("tokenize_chinese_chars", true);
  if (config.contains("strip_accents") && config["strip_accents"].is_boolean())
    spec.strip_accents = config["strip_accents"].get<bool>();
  std::unordered_map<std::string, int64_t> ids;
  for (size_t i = 0; i < spec.vocab.size(); ++i) ids.emplace(spec.vocab[i], int64_t(i));
  for (const std::string* t : {&spec.pad_token, &spec.unk_token, &spec.cls_token, &spec.sep_token, &spec.mask_token})
    if (ids.count(*t)) spec.special.emplace_back(*t, ids[*t]);
  return WordPieceTokenizer(std::move(spec), vocab_txt);
}

WordPieceTokenizer WordPieceTokenizer::from_json(const nlohmann::json& json) {
  Spec spec;
  spec.vocab = detail::tokenizer_field<std::vector<std::string>>(json, "vocab", "an array of tokens by id");
  const nlohmann::json special = json.value("special", nlohmann::json::object());
  NABLA_CHECK(special.is_object(), "tokenizer.special: expected an object of token -> id");
  for (const auto& [content, id] : special.items()) {
    NABLA_CHECK(id.is_number_integer(), "tokenizer.special.", content, ": expected an integer id");
    spec.special.emplace_back(content, id.get<int64_t>());
  }
  spec.unk_token = json.value("unk_token", spec.unk_token);
  spec.cls_token = json.value("cls_token", spec.cls_token);
  spec.sep_token = json.value("sep_token", spec.sep_token);
  spec.pad_token = json.value("pad_token", spec.pad_token);
  spec.mask_token = json.value("mask_token", spec.mask_token);
  spec.prefix = json.value("prefix", spec.prefix);
  spec.max_input_chars_per_word = json.value("max_input_chars_per_word", spec.max_input_chars_per_word);
  spec.clean_text = json.value("clean_text", true);
  spec.handle_chinese_chars = json.value("handle_chinese_chars", true);
  spec.lowercase = json.value("lowercase", true);
  if (json.contains("strip_accents") && json["strip_accents"].is_boolean())
    spec.strip_accents = json["strip_accents"].get<bool>();
  return WordPieceTokenizer(std::move(spec), "tokenizer");
}

nlohmann::json WordPieceTokenizer::to_json() const {
  nlohmann::json special = nlohmann::json::object();
  for (const auto& [content, id] : spec_.special) special[content] = id;
  return {{"type", type()},
          {"vocab", spec_.vocab},
          {"special", special},
          {"unk_token", spec_.unk_token},
          {"cls_token", spec_.cls_token},
          {"sep_token", spec_.sep_token},
          {"pad_token", spec_.pad_token},
          {"mask_token", spec_.mask_token},
          {"prefix", spec_.prefix},
          {"max_input_chars_per_word", spec_.max_input_chars_per_word},
          {"clean_text", spec_.clean_text},
          {"handle_chinese_chars", spec_.handle_chinese_chars},
          {"lowercase", spec_.lowercase},
          {"strip_accents", spec_.strip_accents ? nlohmann::json(*spec_.strip_accents) : nlohmann::json()}};
}

int64_t WordPieceTokenizer::id_of(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

std::string WordPieceTokenizer::token(int64_t id) const {
  NABLA_CHECK(id >= 0 && id < vocab_size(), "tokenizer: id ", id, " is outside the vocabulary of ", vocab_size());
  return spec_.vocab[size_t(id)];
}

std::string WordPieceTokenizer::normalize(std::string_view text) const {
  const bool strip = spec_.strip_accents.value_or(spec_.lowercase);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const uint32_t c = next_code_point(text, i);
    if (spec_.clean_text && in(kRemoved, c)) continue;
    if (spec_.clean_text && in(kWhitespace, c)) {
      out += ' ';
      continue;
    }
    const bool spaced = spec_.handle_chinese_chars && in(kChinese, c);
    if (spaced) out += ' ';
    if (strip && c >= 0xAC00 && c <= 0xD7A3) {  // Hangul syllables: NFD by formula (jamo are not marks)
      const uint32_t index = c - 0xAC00, tail = 0x11A7 + index % 28;
      append_lowercase(0x1100 + index / 588, spec_.lowercase, out);
      append_lowercase(0x1161 + (index % 588) / 28, spec_.lowercase, out);
      if (tail != 0x11A7) append_lowercase(tail, spec_.lowercase, out);
    } else if (const char* stripped = strip ? mapped(kStripAccents, c) : nullptr) {
      const std::string_view s(stripped);
      for (size_t k = 0; k < s.size();) append_lowercase(next_code_point(s, k), spec_.lowercase, out);
    } else {
      append_lowercase(c, spec_.lowercase, out);
    }
    if (spaced) out += ' ';
  }
  return out;
}

std::vector<int64_t> WordPieceTokenizer::encode(const std::string& text) const {
  validate_utf8(text, "input");
  std::vector<int64_t> out;
  std::string_view rest = text;
  // Special tokens cut the text first; the pieces between them are encoded as ordinary text.
  detail::encode_with_special(
      rest, spec_.special, [&](std::string_view piece) { encode_ordinary(piece, out); }, out);
  return out;
}

void WordPieceTokenizer::encode_ordinary(std::string_view text, std::vector<int64_t>& out) const {
  const std::string normalized = normalize(text);
  const std::string_view s(normalized);
  size_t word_begin = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    const uint32_t c = next_code_point(s, i);
    const bool space = in(kSplitWhitespace, c), punctuation = !space && in(kPunctuation, c);
    if (!space && !punctuation) continue;
    if (at > word_begin) encode_word(s.substr(word_begin, at - word_begin), out);
    if (punctuation) encode_word(s.substr(at, i - at), out);
    word_begin = i;
  }
  if (word_begin < s.size()) encode_word(s.substr(word_begin), out);
}

void WordPieceTokenizer::encode_word(std::string_view word, std::vector<int64_t>& out) const {
  std::vector<size_t> boundaries;  // byte offset of each character, then the end
  for (size_t i = 0; i < word.size();) {
    boundaries.push_back(i);
    next_code_point(word, i);
  }
  const size_t characters = boundaries.size();
  boundaries.push_back(word.size());
  if (int64_t(characters) > spec_.max_input_chars_per_word) {
    out.push_back(unk_id_);
    return;
  }
  const size_t first = out.size();
  std::string piece;
  for (size_t start = 0; start < characters;) {
    int64_t found = -1;
    size_t end = characters;
    for (; end > start; --end) {
      piece.assign(start > 0 ? spec_.prefix : "");
      piece.append(word.substr(boundaries[start], boundaries[end] - boundaries[start]));
      if (const auto it = ids_.find(piece); it != ids_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {  // no piece fits: the whole word is unknown
      out.resize(first);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

WordPieceTokenizer::Encoding WordPieceTokenizer::encode_for_model(const std::string& a,
                                                                  const std::optional<std::string>& b) const {
  const int64_t cls = id_of(spec_.cls_token), sep = id_of(spec_.sep_token);
  NABLA_CHECK(cls >= 0 && sep >= 0, "tokenizer: ", spec_.cls_token, " and ", spec_.sep_token,
              " must be in the vocabulary to make a model input");
  Encoding e;
  auto add = [&](const std::vector<int64_t>& ids, int64_t type) {
    e.ids.insert(e.ids.end(), ids.begin(), ids.end());
    e.token_types.insert(e.token_types.end(), ids.size(), type);
  };
  add({cls}, 0);
  add(encode(a), 0);
  add({sep}, 0);
  if (b) {
    add(encode(*b), 1);
    add({sep}, 1);
  }
  return e;
}

std::string WordPieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string t = token(ids[i]);
    if (i > 0) t = t.starts_with(spec_.prefix) ? t.substr(spec_.prefix.size()) : " " + t;
    text += cleanup(std::move(t));
  }
  return text;
}

}  // namespace nabla::data
