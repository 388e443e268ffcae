// A Hugging Face folder's tokenizer in and out: tokenizer.json (the `tokenizers` library's one
// file), else GPT-2's vocab.json + merges.txt with tokenizer_config.json's special tokens.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nabla/data/tokenizer.h"

namespace nabla::interop {

// Errors name the folder and say which files were looked for.
std::unique_ptr<data::Tokenizer> read_hf_tokenizer(const std::string& dir);

// Writes the tokenizer's files into `dir` (vocab.json, merges.txt, tokenizer.json,
// tokenizer_config.json for byte-level BPE), so AutoTokenizer.from_pretrained(dir) loads it.
// `max_length` is the model's context. A tokenizer type Hugging Face has no form for is an error.
void write_hf_tokenizer(const std::string& dir, const data::Tokenizer& tokenizer, int64_t max_length);

}  // namespace nabla::interop
