#include "nabla/models/registry.h"

#include <unistd.h>

#include <algorithm>

#include "nabla/core/error.h"
#include "nabla/models/bert.h"
#include "nabla/models/classifiers.h"
#include "nabla/models/gpt.h"
#include "nabla/models/keras_init.h"
#include "nabla/models/recurrent_lm.h"

namespace nabla::models {

const std::vector<std::string>& model_types() {
  static const std::vector<std::string> types = {
      "neuron", "mlp",      "fashion_cnn", "lenet", "rnn_classifier", "lstm_text", "attention_text", "keras_attention",
      "gru_lm", "char_rnn", "gpt",         "bert"};
  return types;
}

namespace {

int64_t features(const DataShape& data) {
  int64_t n = 1;
  for (int64_t d : data.input) n *= d;
  return n;
}

void require_images(const DataShape& data, const std::string& type) {
  NABLA_CHECK(data.input == Shape({1, 28, 28}), "model.type \"", type, "\" needs 28x28 one-channel images (",
              "data.dataset \"fashion_mnist\"), but the data gives examples of shape ", data.input);
}

void require_text(const DataShape& data, const std::string& type) {
  NABLA_CHECK(data.vocab_size > 0 && data.input_dtype == DType::i64, "model.type \"", type,
              "\" needs token ids from a text dataset with a tokenizer");
}

// Widths past this are a typo, not a model (and would overflow the size arithmetic below).
constexpr int64_t kMaxWidth = 1 << 16;

double physical_memory_bytes() { return double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE)); }

// Refuses, before allocating anything, a model that could not train in memory: weights,
// gradients and Adam's two moments take 16 bytes per parameter.
void check_size(double parameters, const std::string& type, int64_t max_parameters) {
  const double limit = max_parameters > 0 ? double(max_parameters) : physical_memory_bytes() / 16.0;
  NABLA_CHECK(parameters <= limit, "model.type \"", type, "\": these sizes make about ", int64_t(parameters / 1e6),
              " million parameters, ", int64_t(parameters * 16 / 1e9),
              " GB to train (weights, gradients, Adam state); ",
              max_parameters > 0 ? "the limit here is " + std::to_string(max_parameters / 1000000) + " million"
                                 : "this machine has " + std::to_string(int64_t(physical_memory_bytes() / 1e9)) + " GB",
              "; choose smaller sizes");
}

}  // namespace

BuiltModel build_model(io::ConfigReader& m, const DataShape& data, int64_t max_parameters) {
  const std::string type = m.string("type", std::nullopt, model_types());
  BuiltModel built;
  built.type = type;
  built.task = Task::classification;
  if (type == "neuron") {
    built.module = make_neuron(features(data));
    built.task = Task::regression;
  } else if (type == "mlp") {
    std::vector<int64_t> hidden;
    const int64_t layers = m.integer("hidden_layers", 2, 0, 16), width = m.integer("hidden_size", 256, 1, kMaxWidth);
    const double in = double(features(data)), w = double(width);
    check_size(layers ? in * w + double(layers - 1) * w * w + w * double(data.classes) : in * double(data.classes),
               type, max_parameters);
    hidden.assign(size_t(layers), width);
    built.module = make_mlp(features(data), hidden, data.classes, m.number("dropout", 0.0, 0, 0.99));
  } else if (type == "fashion_cnn") {
    require_images(data, type);
    built.module = make_fashion_cnn(data.classes, m.number("dropout", 0.0, 0, 0.99));
  } else if (type == "lenet") {
    require_images(data, type);
    built.module = make_lenet(data.classes, m.string("activation", "relu", {"relu", "tanh"}),
                              m.string("pooling", "max", {"max", "avg"}));
  } else if (type == "rnn_classifier") {
    NABLA_CHECK(data.input.size() == 2 || (data.input.size() == 3 && data.input[0] == 1), "model.type \"", type,
                "\" reads [steps, features] examples or one-channel images (their rows as steps), but the data "
                "gives examples of shape ",
                data.input);
    const int64_t steps = data.input[data.input.size() - 2], width = data.input[data.input.size() - 1];
    const std::string cell = m.string("cell", "rnn", {"rnn", "lstm", "gru"});
    const int64_t h = m.integer("hidden_size", 128, 1, kMaxWidth), layers = m.integer("num_layers", 1, 1, 8);
    const double gates = cell == "lstm" ? 4 : cell == "gru" ? 3 : 1;
    check_size(gates * double(h) * (double(width) + 2.0 * double(h) * double(layers)) + double(h * data.classes), type,
               max_parameters);
    built.module = std::make_shared<RecurrentClassifier>(cell, steps, width, h, layers, data.classes,
                                                         m.number("dropout", 0.0, 0, 0.99));
  } else if (type == "lstm_text") {
    require_text(data, type);
    const std::string cell = m.string("cell", "lstm", {"rnn", "lstm", "gru"});
    const int64_t e = m.integer("embedding_dim", 128, 1, kMaxWidth), h = m.integer("hidden_size", 128, 1, kMaxWidth);
    const int64_t layers = m.integer("num_layers", 2, 1, 8);
    check_size(double(data.vocab_size) * double(e) + 4.0 * double(h) * double(e + h) * double(layers), type,
               max_parameters);
    built.module = make_recurrent_text(cell, data.vocab_size, e, h, layers, m.number("dropout", 0.0, 0, 0.99));
    built.task = Task::binary;
  } else if (type == "attention_text") {
    require_text(data, type);
    const int64_t d = m.integer("embed_dim", 128, 1, kMaxWidth), heads = m.integer("num_heads", 4, 1, 1024);
    const int64_t layers = m.integer("num_layers", 1, 1, 12);
    check_size(double(data.vocab_size + data.input[0]) * double(d) + 12.0 * double(d) * double(d) * double(layers),
               type, max_parameters);
    built.module = std::make_shared<AttentionTextClassifier>(data.vocab_size, data.input[0], d, heads, layers,
                                                             m.number("dropout", 0.1, 0, 0.99), /*pad_id=*/0);
    built.task = Task::binary;
  } else if (type == "keras_attention") {
    require_text(data, type);
    const int64_t e = m.integer("embedding_dim", 64, 1, kMaxWidth), units = m.integer("units", 64, 1, kMaxWidth);
    check_size(double(data.vocab_size) * double(e) + double(e + units) * double(units) + double(units), type,
               max_parameters);
    built.module = std::make_shared<KerasAttentionClassifier>(data.vocab_size, e, units, m.boolean("use_scale", true),
                                                              /*pad_id=*/0);
    built.task = Task::binary;
  } else if (type == "gru_lm" || type == "char_rnn") {
    require_text(data, type);
    RecurrentLMConfig c;
    c.vocab_size = data.vocab_size;
    c.cell = m.string("cell", type == "gru_lm" ? "gru" : "lstm", {"gru", "lstm", "rnn"});
    c.embedding_dim = m.integer("embedding_dim", type == "gru_lm" ? 256 : 64, 1, kMaxWidth);
    c.hidden_size = m.integer("hidden_size", type == "gru_lm" ? 1024 : 512, 1, kMaxWidth);
    c.num_layers = m.integer("num_layers", type == "gru_lm" ? 1 : 2, 1, 8);
    c.dropout = m.number("dropout", 0.0, 0, 0.99);
    const double gates = c.cell == "lstm" ? 4 : c.cell == "gru" ? 3 : 1, h = double(c.hidden_size);
    check_size(double(c.vocab_size) * double(c.embedding_dim + c.hidden_size) +
                   gates * h * (double(c.embedding_dim) + h + h * double(c.num_layers - 1) + h * double(c.num_layers)),
               type, max_parameters);
    built.module = std::make_shared<RecurrentLM>(c);
    built.task = Task::language_model;
  } else if (type == "gpt") {
    require_text(data, type);
    GPTConfig c;
    // model.vocab_size pads the embedding past the tokenizer's ids (GPT-2's 50257 rows, nanoGPT's
    // 50304); 0 means exactly the tokenizer's.
    const int64_t rows = m.integer("vocab_size", 0, 0, int64_t(1) << 24);
    NABLA_CHECK(rows == 0 || rows >= data.vocab_size, m.key_path("vocab_size"), ": ", rows,
                " rows are fewer than the tokenizer's ", data.vocab_size, " tokens");
    c.vocab_size = std::max(rows, data.vocab_size);
    c.context = m.integer("context", 128, 1, 1 << 16);
    c.n_layer = m.integer("n_layer", 4, 1, 96);
    c.n_head = m.integer("n_head", 4, 1, 128);
    c.n_embd = m.integer("n_embd", 256, 1, kMaxWidth);
    c.dropout = m.number("dropout", 0.1, 0, 0.99);
    c.activation_checkpointing = m.boolean("activation_checkpointing", false);
    // GPT-2's own settings, under Hugging Face's names (an imported model records them).
    c.n_inner = m.integer("n_inner", 0, 0, kMaxWidth * 4);
    c.layer_norm_epsilon = m.number("layer_norm_epsilon", 1e-5, 1e-12, 1.0);
    c.activation = m.string("activation", "gelu_new", nn::transformer_activations());
    NABLA_CHECK(c.n_embd % c.n_head == 0, m.key_path("n_embd"), ": must be a multiple of model.n_head (", c.n_head,
                "), got ", c.n_embd);
    const double d = double(c.n_embd);
    const double hidden = c.n_inner > 0 ? double(c.n_inner) : 4.0 * d;
    check_size(double(c.vocab_size + c.context) * d + (4.0 * d + 2.0 * hidden) * d * double(c.n_layer), type,
               max_parameters);
    built.module = std::make_shared<GPT>(c);
    built.task = Task::language_model;
    built.decay_matrices_only = true;
  } else if (type == "bert") {
    require_text(data, type);
    BertConfig c;
    c.vocab_size = data.vocab_size;
    c.head = m.string("head", data.classes > 1 ? "classifier" : "mlm", {"mlm", "classifier", "none"});
    c.hidden_size = m.integer("hidden_size", 256, 1, kMaxWidth);
    c.num_hidden_layers = m.integer("num_hidden_layers", 4, 1, 96);
    c.num_attention_heads = m.integer("num_attention_heads", 4, 1, 128);
    c.intermediate_size = m.integer("intermediate_size", 4 * c.hidden_size, 1, 4 * kMaxWidth);
    c.max_position_embeddings = m.integer("max_position_embeddings", 512, 1, 1 << 16);
    c.type_vocab_size = m.integer("type_vocab_size", 2, 1, 1 << 16);
    c.pad_token_id = m.integer("pad_token_id", 0, 0, c.vocab_size - 1);
    c.hidden_act = m.string("hidden_act", "gelu", nn::transformer_activations());
    c.hidden_dropout_prob = m.number("hidden_dropout_prob", 0.1, 0, 0.99);
    c.attention_probs_dropout_prob = m.number("attention_probs_dropout_prob", 0.1, 0, 0.99);
    c.layer_norm_eps = m.number("layer_norm_eps", 1e-12, 1e-20, 1.0);
    c.pooler = m.boolean("pooler", c.head == "classifier");
    NABLA_CHECK(c.head != "classifier" || data.classes > 1, m.key_path("head"),
                ": \"classifier\" needs data with class labels");
    c.num_labels = c.head == "classifier" ? data.classes : 2;
    NABLA_CHECK(c.hidden_size % c.num_attention_heads == 0, m.key_path("hidden_size"),
                ": must be a multiple of model.num_attention_heads (", c.num_attention_heads, "), got ", c.hidden_size);
    NABLA_CHECK(data.input.empty() || data.input[0] <= c.max_position_embeddings, m.key_path("max_position_embeddings"),
                ": ", c.max_position_embeddings, " positions are fewer than the data's sequences of ", data.input[0]);
    const double h = double(c.hidden_size);
    check_size(double(c.vocab_size + c.max_position_embeddings) * h +
                   (4.0 * h + 2.0 * double(c.intermediate_size)) * h * double(c.num_hidden_layers),
               type, max_parameters);
    built.module = std::make_shared<Bert>(c);
    built.task = c.head == "classifier" ? Task::classification : Task::masked_lm;
    built.decay_matrices_only = true;
  }
  // PyTorch's initialisation (how layers are built), or Keras' defaults as the articles' Keras
  // programs start from.
  if (m.string("init", "pytorch", {"pytorch", "keras"}) == "keras") apply_keras_initializers(*built.module);
  built.initial_weights = m.string("initial_weights", "");
  built.init_from = m.string("init_from", "");
  NABLA_CHECK(built.initial_weights.empty() || built.init_from.empty(), m.key_path("init_from"),
              ": give either model.init_from (a run) or model.initial_weights (a safetensors file), not both");
  m.finish();
  if (built.task == Task::classification)
    NABLA_CHECK(data.classes > 1, "model.type \"", type, "\" is a classifier but the data has no class labels");
  return built;
}

}  // namespace nabla::models
