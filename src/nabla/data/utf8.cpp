// UTF-8 validation and code-point splitting (RFC 3629's well-formed byte sequences).
#include "nabla/data/utf8.h"

#include <cstdio>

#include "nabla/core/error.h"

namespace nabla::data {
namespace {

// Length of the well-formed sequence starting at text[i], or 0 when it is malformed.
size_t sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xbf;  // the allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf)
    length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // UTF-16 surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  return length;
}

[[noreturn]] void fail_malformed(std::string_view text, size_t at, const std::string& source) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(text[at]));
  fail(source, ": not valid UTF-8 at byte offset ", at, " (byte ", hex,
       "); convert the text to UTF-8 first, e.g. `iconv -f LATIN1 -t UTF-8`");
}

}  // namespace

void validate_utf8(std::string_view text, const std::string& source) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = sequence_length(text, i);
    if (n == 0) fail_malformed(text, i, source);
    i += n;
  }
}

std::vector<std::string> split_code_points(std::string_view text, const std::string& source) {
  std::vector<std::string> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = sequence_length(text, i);
    if (n == 0) fail_malformed(text, i, source);
    out.emplace_back(text.substr(i, n));
    i += n;
  }
  return out;
}

uint32_t code_point(std::string_view c) {
  if (c.empty()) return 0;
  const auto b = [&](size_t k) { return uint32_t(static_cast<unsigned char>(c[k])); };
  switch (c.size()) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1f) << 6) | (b(1) & 0x3f);
    case 3: return ((b(0) & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3f) << 12) | ((b(2) & 0x3f) << 6) | (b(3) & 0x3f);
  }
}

std::string describe_character(std::string_view c) {
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", code_point(c));
  const uint32_t cp = code_point(c);
  // Control characters would garble the message; show only their code.
  if (cp < 0x20 || cp == 0x7f) return code;
  std::string out = "'";
  out.append(c).append("' (").append(code).append(")");
  return out;
}

}  // namespace nabla::data
