// BERT as Hugging Face stores it (BertModel, BertForMaskedLM, BertForPreTraining,
// BertForSequenceClassification) <-> nabla's Bert, which uses the same parameter names: the map
// adds the "bert." prefix BertModel's files lack, checks the tied MLM decoder against the word
// embeddings, and leaves out what nabla's Bert does not compute (the next-sentence head).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nabla/interop/hf_folder.h"
#include "nabla/interop/hf_gpt2.h"

namespace nabla::interop {

bool is_bert(const HFFolder& folder);
// model: the run config's "model" section ({"type": "bert", ...}); class_names from id2label for
// a classifier; notes say what was left out (cls.seq_relationship of BertForPreTraining).
ImportedModel bert_from_hf(const HFFolder& folder, std::vector<std::string>& class_names,
                           std::vector<std::string>& notes);

nlohmann::json bert_hf_config(const nlohmann::json& model, int64_t vocab_size,
                              const std::vector<std::string>& class_names, const nlohmann::json& base);
// The state dict as Hugging Face names it (the same names; the tied decoder is left out).
std::map<std::string, Tensor> bert_hf_weights(const std::map<std::string, Tensor>& state);

}  // namespace nabla::interop
