// UTF-8 validation and code-point splitting (RFC 3629's well-formed byte sequences).
#include "nabla/data/utf8.h"

#include <cstdio>

#include "nabla/core/error.h"

namespace nabla::data {
namespace {

// The bytes from text[i] that make one character: the whole sequence when it is well-formed
// (`complete`), else its longest well-formed start, at least one byte (Unicode's "maximal subpart",
// which lossy decoding replaces by one U+FFFD).
size_t character_span(std::string_view text, size_t i, bool& complete) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  complete = true;
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
    complete = false;
    return 1;
  }
  for (size_t k = 1; k < length; ++k) {
    const unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xbf;
    if (i + k >= text.size() || byte(i + k) < lo || byte(i + k) > hi) {
      complete = false;
      return k;
    }
  }
  return length;
}

// Length of the well-formed sequence starting at text[i], or 0 when it is malformed.
size_t sequence_length(std::string_view text, size_t i) {
  bool complete = false;
  const size_t n = character_span(text, i, complete);
  return complete ? n : 0;
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

uint32_t next_code_point(std::string_view text, size_t& i) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  const uint32_t cp = code_point(text.substr(i, length));
  i += length;
  return cp;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += {char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
  } else if (cp < 0x10000) {
    out += {char(0xE0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
  } else {
    out += {char(0xF0 | (cp >> 18)), char(0x80 | ((cp >> 12) & 0x3F)), char(0x80 | ((cp >> 6) & 0x3F)),
            char(0x80 | (cp & 0x3F))};
  }
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    bool complete = false;
    const size_t n = character_span(bytes, i, complete);
    if (complete)
      out.append(bytes.substr(i, n));
    else
      out += "\xEF\xBF\xBD";
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
