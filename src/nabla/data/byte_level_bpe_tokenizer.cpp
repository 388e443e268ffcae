// ByteLevelBPETokenizer: Hugging Face's files in, GPT-2's pattern as a hand-written scanner over
// character classes read off `tokenizers` (gpt2_unicode_tables.inc), merges by a rank-ordered heap
// over a linked list of symbols (linear-logarithmic however long a piece is).
#include "nabla/data/byte_level_bpe_tokenizer.h"

#include <algorithm>
#include <cstring>
#include <queue>

#include "nabla/core/error.h"
#include "nabla/data/input_file.h"
#include "nabla/data/utf8.h"

namespace nabla::data {
namespace {

// The classes GPT-2's pattern tells apart:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
enum CharClass : uint8_t { kOther, kLetter, kNumber, kSpace };
struct ClassRange {
  uint32_t first, last;
  CharClass kind;
};
#include "nabla/data/gpt2_unicode_tables.inc"

CharClass char_class(uint32_t c) {
  const auto it = std::upper_bound(std::begin(kGpt2Classes), std::end(kGpt2Classes), c,
                                   [](uint32_t v, const ClassRange& r) { return v < r.first; });
  return it != std::begin(kGpt2Classes) && c <= std::prev(it)->last ? std::prev(it)->kind : kOther;
}

// The end of the piece GPT-2's pattern matches at `i` (the alternatives in their order).
size_t piece_end(std::string_view text, size_t i) {
  const size_t n = text.size();
  if (text[i] == '\'') {  // contractions, case-sensitive as in the pattern
    const std::string_view rest = text.substr(i + 1);
    for (const char* suffix : {"s", "t", "re", "ve", "m", "ll", "d"})
      if (rest.starts_with(suffix)) return i + 1 + std::strlen(suffix);
  }
  size_t next = 0;
  CharClass kind = char_class(next_code_point(text, next = i));
  size_t run = i;
  if (text[i] == ' ' && next < n) {  // " ?" before a letter, number or other run
    size_t after = 0;
    const CharClass following = char_class(next_code_point(text, after = next));
    if (following != kSpace) kind = following, run = next;
  }
  if (kind != kSpace) {
    size_t end = run;
    while (end < n) {
      size_t after = 0;
      if (char_class(next_code_point(text, after = end)) != kind) break;
      end = after;
    }
    return end;
  }
  // Whitespace: all of it at the end of the text; before anything else, all but its last
  // character (which goes with what follows), unless it is a single one.
  size_t end = i, last = i;
  while (end < n) {
    size_t after = 0;
    if (char_class(next_code_point(text, after = end)) != kSpace) break;
    last = end;
    end = after;
  }
  return end == n || last == i ? end : last;
}

uint64_t pair_key(int64_t left, int64_t right) { return uint64_t(left) << 32 | uint64_t(uint32_t(right)); }

std::pair<std::string, std::string> split_merge(const std::string& line, const std::string& where) {
  const size_t space = line.find(' ');
  NABLA_CHECK(space != std::string::npos && space > 0 && space + 1 < line.size() &&
                  line.find(' ', space + 1) == std::string::npos,
              where, ": a merge is two tokens separated by one space, got ", nlohmann::json(line).dump().substr(0, 80));
  return {line.substr(0, space), line.substr(space + 1)};
}

}  // namespace

const std::array<std::string, 256>& byte_level_alphabet() {
  static const std::array<std::string, 256> alphabet = [] {
    std::array<std::string, 256> a;
    uint32_t next = 256;  // bytes that are not printable Latin-1 take code points from U+0100 on
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      append_utf8(printable ? uint32_t(b) : next++, a[size_t(b)]);
    }
    return a;
  }();
  return alphabet;
}

ByteLevelBPETokenizer::ByteLevelBPETokenizer(Spec spec, const std::string& source) : spec_(std::move(spec)) {
  NABLA_CHECK(!spec_.vocab.empty(), source, ": the vocabulary is empty");
  NABLA_CHECK(spec_.vocab.size() < (size_t(1) << 31), source, ": more than 2^31 tokens");
  for (size_t i = 0; i < spec_.vocab.size(); ++i)
    NABLA_CHECK(ids_.emplace(spec_.vocab[i], int64_t(i)).second, source, ": token ",
                nlohmann::json(spec_.vocab[i]).dump(), " appears twice (ids ", ids_[spec_.vocab[i]], " and ", i, ")");
  const auto& alphabet = byte_level_alphabet();
  char_bytes_.fill(-1);
  for (int b = 0; b < 256; ++b) {
    const auto it = ids_.find(alphabet[size_t(b)]);
    byte_ids_[size_t(b)] = it == ids_.end() ? -1 : it->second;
    char_bytes_[code_point(alphabet[size_t(b)])] = int16_t(b);
  }
  for (size_t rank = 0; rank < spec_.merges.size(); ++rank) {
    const auto& [left, right] = spec_.merges[rank];
    const auto l = ids_.find(left), r = ids_.find(right), merged = ids_.find(left + right);
    NABLA_CHECK(l != ids_.end() && r != ids_.end() && merged != ids_.end(), source, ": merge ", rank + 1, " (\"", left,
                " ", right, "\") names a token that is not in the vocabulary");
    merges_.emplace(pair_key(l->second, r->second),
                    std::pair<int32_t, int32_t>(int32_t(rank), int32_t(merged->second)));
  }
  for (const auto& [content, id] : spec_.special) {
    NABLA_CHECK(!content.empty(), source, ": a special token is empty");
    NABLA_CHECK(id >= 0 && id < vocab_size(), source, ": special token ", content, " has id ", id,
                " outside the vocabulary of ", vocab_size());
  }
  // Longest first, so of two special tokens starting at one place the longer wins.
  std::stable_sort(spec_.special.begin(), spec_.special.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

ByteLevelBPETokenizer ByteLevelBPETokenizer::from_vocab_and_merges(
    const std::string& vocab_json, const std::string& merges_txt,
    std::vector<std::pair<std::string, int64_t>> special) {
  Spec spec;
  spec.vocab = detail::tokens_by_id(data::read_json_input(vocab_json, "tokenizer vocabulary"), vocab_json);
  const std::string text = data::read_input_file(merges_txt, "tokenizer merges", data::kMaxJsonFileBytes);
  validate_utf8(text, merges_txt);
  size_t line_number = 0;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_number == 1 && line.starts_with("#version"))) continue;
    spec.merges.push_back(split_merge(line, merges_txt + ":" + std::to_string(line_number)));
  }
  for (const auto& [content, id] : special)
    if (id >= 0) spec.special.emplace_back(content, id);
  return ByteLevelBPETokenizer(std::move(spec), vocab_json + " and " + merges_txt);
}

ByteLevelBPETokenizer ByteLevelBPETokenizer::from_tokenizer_json(const std::string& path) {
  return detail::naming_malformed_json(path, from_tokenizer_json_checked);
}

ByteLevelBPETokenizer ByteLevelBPETokenizer::from_tokenizer_json_checked(const std::string& path) {
  const nlohmann::json file = data::read_json_input(path, "tokenizer.json");
  auto at = [&](const nlohmann::json& j, const char* key) -> const nlohmann::json& {
    NABLA_CHECK(j.is_object() && j.contains(key), path, ": missing key \"", key, "\"");
    return j.at(key);
  };
  const nlohmann::json& model = at(file, "model");
  NABLA_CHECK(model.value("type", "") == "BPE", path, ": model.type is ", model.value("type", std::string("missing")),
              "; nabla reads byte-level BPE (GPT-2) and WordPiece (BERT) tokenizers");
  for (const char* key : {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix"}) {
    const bool unset = !model.contains(key) || model[key].is_null() || model[key] == "";
    NABLA_CHECK(unset, path, ": model.", key, " = ", model[key].dump(),
                " is not supported (GPT-2's byte-level BPE leaves it unset)");
  }
  NABLA_CHECK(!model.value("byte_fallback", false), path, ": model.byte_fallback is not supported");
  NABLA_CHECK(file.value("normalizer", nlohmann::json()).is_null(), path,
              ": a normalizer is not supported (GPT-2 has none)");
  const nlohmann::json& pre = at(file, "pre_tokenizer");
  NABLA_CHECK(pre.is_object() && pre.value("type", "") == "ByteLevel" && pre.value("use_regex", true), path,
              ": pre_tokenizer must be ByteLevel with GPT-2's pattern (use_regex true), got ",
              pre.dump().substr(0, 120));
  Spec spec;
  spec.add_prefix_space = pre.value("add_prefix_space", false);
  spec.ignore_merges = model.value("ignore_merges", false);
  spec.vocab = detail::tokens_by_id(at(model, "vocab"), path + " (model.vocab)");
  const nlohmann::json& merges = at(model, "merges");
  NABLA_CHECK(merges.is_array(), path, ": model.merges must be an array");
  for (size_t i = 0; i < merges.size(); ++i) {
    const nlohmann::json& m = merges[i];
    const std::string where = path + " (model.merges[" + std::to_string(i) + "])";
    if (m.is_string())
      spec.merges.push_back(split_merge(m.get<std::string>(), where));
    else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
      spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    else
      fail(where, ": a merge is \"a b\" or [\"a\", \"b\"], got ", m.dump().substr(0, 80));
  }
  if (file.contains("added_tokens")) {
    const nlohmann::json& added = file["added_tokens"];
    NABLA_CHECK(added.is_array(), path, ": added_tokens must be an array");
    for (const nlohmann::json& t : added) {
      NABLA_CHECK(t.is_object() && t.contains("id") && t["id"].is_number_integer() && t.contains("content") &&
                      t["content"].is_string(),
                  path, ": each added token needs an integer \"id\" and a string \"content\"");
      const int64_t id = t["id"].get<int64_t>();
      const std::string content = t["content"].get<std::string>();
      // An added token outside model.vocab takes the next id (as `tokenizers` numbers them).
      if (id == int64_t(spec.vocab.size())) spec.vocab.push_back(content);
      NABLA_CHECK(id >= 0 && id < int64_t(spec.vocab.size()) && spec.vocab[size_t(id)] == content, path,
                  ": added token ", nlohmann::json(content).dump(), " has id ", id,
                  ", which is neither its id in the vocabulary nor the next free one");
      spec.special.emplace_back(content, id);
    }
  }
  return ByteLevelBPETokenizer(std::move(spec), path);
}

ByteLevelBPETokenizer ByteLevelBPETokenizer::from_json(const nlohmann::json& json) {
  Spec spec;
  spec.vocab = detail::tokenizer_field<std::vector<std::string>>(json, "vocab", "an array of tokens by id");
  for (const std::string& m : detail::tokenizer_field<std::vector<std::string>>(json, "merges", "an array of \"a b\""))
    spec.merges.push_back(split_merge(m, "tokenizer.merges"));
  const nlohmann::json special = json.value("special", nlohmann::json::object());
  NABLA_CHECK(special.is_object(), "tokenizer.special: expected an object of token -> id");
  for (const auto& [content, id] : special.items()) {
    NABLA_CHECK(id.is_number_integer(), "tokenizer.special.", content, ": expected an integer id");
    spec.special.emplace_back(content, id.get<int64_t>());
  }
  spec.add_prefix_space = json.value("add_prefix_space", false);
  spec.ignore_merges = json.value("ignore_merges", false);
  return ByteLevelBPETokenizer(std::move(spec), "tokenizer");
}

nlohmann::json ByteLevelBPETokenizer::to_json() const {
  std::vector<std::string> merges;
  merges.reserve(spec_.merges.size());
  for (const auto& [l, r] : spec_.merges) merges.push_back(l + " " + r);
  nlohmann::json special = nlohmann::json::object();
  for (const auto& [content, id] : spec_.special) special[content] = id;
  return {{"type", type()},
          {"vocab", spec_.vocab},
          {"merges", merges},
          {"special", special},
          {"add_prefix_space", spec_.add_prefix_space},
          {"ignore_merges", spec_.ignore_merges}};
}

nlohmann::json ByteLevelBPETokenizer::vocab_json() const {
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < spec_.vocab.size(); ++i) vocab[spec_.vocab[i]] = i;
  return vocab;
}

std::string ByteLevelBPETokenizer::merges_txt() const {
  std::string text = "#version: 0.2\n";
  for (const auto& [l, r] : spec_.merges) text += l + " " + r + "\n";
  return text;
}

int64_t ByteLevelBPETokenizer::special_id(const std::string& content) const {
  for (const auto& [c, id] : spec_.special)
    if (c == content) return id;
  return -1;
}

std::string ByteLevelBPETokenizer::token(int64_t id) const {
  NABLA_CHECK(id >= 0 && id < vocab_size(), "tokenizer: id ", id, " is outside the vocabulary of ", vocab_size());
  return spec_.vocab[size_t(id)];
}

std::vector<int64_t> ByteLevelBPETokenizer::encode(const std::string& text) const {
  validate_utf8(text, "input");
  std::vector<int64_t> out;
  std::string_view rest = text;
  std::string prefixed;
  if (spec_.add_prefix_space && !text.empty() && text[0] != ' ') rest = prefixed = " " + text;
  // Special tokens cut the text first; the pieces between them are encoded as ordinary text.
  detail::encode_with_special(
      rest, spec_.special, [&](std::string_view piece) { encode_ordinary(piece, out); }, out);
  return out;
}

void ByteLevelBPETokenizer::encode_ordinary(std::string_view text, std::vector<int64_t>& out) const {
  for (size_t i = 0; i < text.size();) {
    const size_t end = piece_end(text, i);
    merge_piece(text.substr(i, end - i), out);
    i = end;
  }
}

void ByteLevelBPETokenizer::merge_piece(std::string_view piece, std::vector<int64_t>& out) const {
  if (spec_.ignore_merges) {
    std::string mapped;
    for (unsigned char b : piece) mapped += byte_level_alphabet()[b];
    if (auto it = ids_.find(mapped); it != ids_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  struct Symbol {
    int64_t id;
    int32_t prev, next;  // neighbours in the list; -1 at the ends
  };
  std::vector<Symbol> symbols(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) {
    const int64_t id = byte_ids_[static_cast<unsigned char>(piece[i])];
    NABLA_CHECK(id >= 0, "tokenizer: byte ", int(static_cast<unsigned char>(piece[i])),
                " has no token in the vocabulary (a byte-level vocabulary holds all 256)");
    symbols[i] = {id, int32_t(i) - 1, i + 1 < piece.size() ? int32_t(i + 1) : -1};
  }
  // Candidate merges, lowest rank first and leftmost among equal ranks; a candidate whose
  // symbols have changed since it was queued is dropped when it comes up.
  struct Candidate {
    int32_t rank, position, merged;
    int64_t right_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : position > o.position; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int32_t left) {
    const int32_t right = symbols[size_t(left)].next;
    if (right < 0) return;
    const auto it = merges_.find(pair_key(symbols[size_t(left)].id, symbols[size_t(right)].id));
    if (it != merges_.end()) queue.push({it->second.first, left, it->second.second, symbols[size_t(right)].id});
  };
  for (int32_t i = 0; i + 1 < int32_t(piece.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[size_t(c.position)];
    if (left.id < 0 || left.next < 0) continue;
    Symbol& right = symbols[size_t(left.next)];
    const auto it = merges_.find(pair_key(left.id, right.id));
    if (right.id != c.right_id || it == merges_.end() || it->second.first != c.rank) continue;
    left.id = c.merged;
    right.id = -1;  // removed from the list
    left.next = right.next;
    if (right.next >= 0) symbols[size_t(right.next)].prev = c.position;
    if (left.prev >= 0) consider(left.prev);
    consider(c.position);
  }
  for (int32_t i = 0; i >= 0; i = symbols[size_t(i)].next) out.push_back(symbols[size_t(i)].id);
}

std::string ByteLevelBPETokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string bytes;
  for (int64_t id : ids) {
    NABLA_CHECK(id >= 0 && id < vocab_size(), "tokenizer: id ", id, " is outside the vocabulary of ", vocab_size());
    const std::string& t = spec_.vocab[size_t(id)];
    // Each character back to its byte; a token with a character outside the alphabet (an added
    // token such as "<|endoftext|>" is plain ASCII, which is inside) keeps its own bytes.
    std::string mapped;
    bool all_mapped = true;
    for (size_t i = 0; i < t.size() && all_mapped;) {
      const unsigned char lead = static_cast<unsigned char>(t[i]);
      const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      const uint32_t cp = code_point(std::string_view(t).substr(i, length));
      if (cp < char_bytes_.size() && char_bytes_[cp] >= 0)
        mapped += char(char_bytes_[cp]);
      else
        all_mapped = false;
      i += length;
    }
    bytes += all_mapped ? mapped : t;
  }
  return utf8_lossy(bytes);
}

}  // namespace nabla::data
