// UTF-8 helpers the text loaders and tokenizers share: validation with the offending byte offset,
// splitting text into code points, encoding them, and lossy decoding.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::data {

// Throws nabla::Error naming `source` (a file name or "input") and the byte offset of the first
// malformed sequence (overlong forms, surrogates and code points above U+10FFFF are malformed).
void validate_utf8(std::string_view text, const std::string& source);

// The code points of valid UTF-8 text, each as its own UTF-8 string ("é" stays one element).
std::vector<std::string> split_code_points(std::string_view text, const std::string& source = "input");

// The code point at text[i] (valid UTF-8); advances i past it.
uint32_t next_code_point(std::string_view text, size_t& i);
// Appends a code point's UTF-8 bytes.
void append_utf8(uint32_t code_point, std::string& out);
// Bytes to text with each maximal invalid subsequence replaced by U+FFFD, as Rust's
// String::from_utf8_lossy (which Hugging Face tokenizers decode with).
std::string utf8_lossy(std::string_view bytes);

// The code point a UTF-8 character encodes, for messages like "'é' (U+00E9)".
uint32_t code_point(std::string_view character);
std::string describe_character(std::string_view character);

}  // namespace nabla::data
