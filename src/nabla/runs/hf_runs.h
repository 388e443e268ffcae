// Hugging Face folders as runs: `nabla import` turns a folder (config.json, safetensors weights,
// tokenizer files) into a run directory that generate, eval, predict, info and summary use like a
// trained one; `nabla export --format hf` writes a run back as a folder transformers loads.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nabla::runs {

struct ImportResult {
  std::string architecture;  // "GPT2LMHeadModel"
  std::string tokenizer;     // the tokenizer's type
  int64_t parameters = 0, vocab_size = 0, context = 0;
  std::string replaced_run;        // where --overwrite moved a run that was in the way, or empty
  std::vector<std::string> notes;  // what was left out, and why
};

// Everything is read and checked before `out_dir` is touched; a failure leaves nothing behind.
// `out_dir` holding a run is an error unless `overwrite` (which moves that run aside). GPT-2
// (GPT2LMHeadModel, GPT2Model) and BERT (BertForMaskedLM, BertForPreTraining, BertModel,
// BertForSequenceClassification) import.
ImportResult import_hf(const std::string& hf_dir, const std::string& out_dir, bool overwrite);

struct ExportResult {
  std::string architecture;
  bool tokenizer_written = false;  // false for tokenizers Hugging Face has no form for (char, word)
  std::string tokenizer_note;      // why not, when not
};

// Writes config.json, model.safetensors and the tokenizer files. A folder that already holds a
// config.json or weights is an error unless `overwrite`.
ExportResult export_hf(const std::string& run_dir, const std::string& out_dir, bool overwrite);

}  // namespace nabla::runs
