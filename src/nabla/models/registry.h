// The model registry: builds any model a config names ("type": "gpt", "lenet", ...) from its
// "model" section, with the sizes the data decides (vocabulary, classes, sequence length).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nabla/io/config.h"
#include "nabla/nn/module.h"

namespace nabla::models {

// What the data tells the model.
struct DataShape {
  Shape input;  // one example, e.g. {1, 28, 28} or {100} tokens
  DType input_dtype = DType::f32;
  int64_t classes = 0;     // > 0 for classifiers
  int64_t vocab_size = 0;  // > 0 for text
};

// masked_lm: logits [B, T, vocab] for masked positions (BERT); trained by issue 29's pretraining.
enum class Task { classification, binary, regression, language_model, masked_lm };

struct BuiltModel {
  std::shared_ptr<nn::Module> module;
  std::string type;
  Task task = Task::classification;
  bool decay_matrices_only = false;  // AdamW should leave biases and norm gains undecayed (GPT, as nanoGPT)
  // model.initial_weights: a safetensors file a new training run starts from (every parameter by
  // its state_dict name), or empty to start from the initialiser.
  std::string initial_weights;
  // model.init_from: a run directory whose matching weights a new run starts from (runs/init_from.h).
  std::string init_from;
};

// Reads model.* (type and its hyper-parameters; finish() is called here). A model whose training
// state would not fit this machine's memory (or max_parameters, when > 0) is an error before
// anything is allocated.
BuiltModel build_model(io::ConfigReader& model, const DataShape& data, int64_t max_parameters = 0);
const std::vector<std::string>& model_types();

}  // namespace nabla::models
