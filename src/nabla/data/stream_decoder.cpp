#include "nabla/data/stream_decoder.h"

#include <algorithm>

#include "nabla/core/error.h"

namespace nabla::data {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, int64_t window) : tokenizer_(tokenizer), window_(window) {
  NABLA_CHECK(window >= 1, "StreamDecoder: the window must be at least one token, got ", window);
}

std::string StreamDecoder::decode(size_t begin, size_t end) {
  tokens_decoded_ += int64_t(end - begin);
  return tokenizer_.decode(std::vector<int64_t>(ids_.begin() + long(begin), ids_.begin() + long(end)));
}

std::string StreamDecoder::push(int64_t id) {
  ids_.push_back(id);
  // The shown tokens' tail and the same tail with the new tokens: what the new ones add is the
  // difference, when the first is a prefix of the second.
  const size_t from = shown_ > size_t(window_) ? shown_ - size_t(window_) : 0;
  const std::string before = decode(from, shown_), after = decode(from, ids_.size());
  if (after.size() <= before.size() || after.compare(0, before.size(), before) != 0) return "";
  // Byte-level tokens can end inside a character, which decodes as U+FFFD until the next token
  // completes it: wait for that rather than print a replacement the whole text does not have.
  if (after.ends_with("\xEF\xBF\xBD")) return "";
  std::string added = after.substr(before.size());
  text_ += added;
  shown_ = ids_.size();
  return added;
}

}  // namespace nabla::data
