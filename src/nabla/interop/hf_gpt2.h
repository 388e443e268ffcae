// GPT-2 as Hugging Face stores it (GPT2LMHeadModel, GPT2Model) <-> nabla's GPT. The blocks are
// the same computation; the names differ, and GPT-2's Conv1D keeps its weights as [in, out], the
// transpose of a Linear's, so those four matrices per block are transposed each way (exactly).
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "nabla/core/tensor.h"
#include "nabla/interop/hf_folder.h"

namespace nabla::interop {

struct ImportedModel {
  std::string architecture;               // "GPT2LMHeadModel"
  nlohmann::json model;                   // the run config's "model" section
  int64_t vocab_size = 0, context = 0;    // rows of the token and position embeddings
  std::map<std::string, Tensor> weights;  // by nabla's names, ready for load_state_dict
};

bool is_gpt2(const HFFolder& folder);
// Checks config.json against what nabla's GPT computes (errors name the key and its value) and
// every weight against the shapes config.json implies (errors name the file and the tensor).
// Takes the folder: each Conv1D matrix it transposes into a copy leaves the folder at once, so the
// file's pages of it leave memory (io::load_safetensors) and the weights are never held twice.
ImportedModel gpt2_from_hf(HFFolder folder);

// config.json for a nabla GPT's "model" section: `base` (the config.json it was imported from, or
// an empty object) keeps keys nabla does not use; the architecture's own keys are written over it.
nlohmann::json gpt2_hf_config(const nlohmann::json& model, int64_t vocab_size, const nlohmann::json& base);
// A GPT's state dict under GPT2LMHeadModel's names (the tied lm_head is left out, as
// save_pretrained does).
std::map<std::string, Tensor> gpt2_hf_weights(const std::map<std::string, Tensor>& state);

}  // namespace nabla::interop
