// The BERT map: config.json's keys to the "model" section; weights checked against a Bert built
// from that section (names and shapes), so nothing that would not load gets written.
#include "nabla/interop/hf_bert.h"

#include <algorithm>
#include <cstring>

#include "nabla/core/error.h"
#include "nabla/models/bert.h"
#include "nabla/nn/attention.h"

namespace nabla::interop {
using nlohmann::json;

namespace {

const std::vector<std::string> kArchitectures = {"BertForMaskedLM", "BertForPreTraining", "BertModel",
                                                 "BertForSequenceClassification"};

std::string architecture_of(const HFFolder& f) {
  const json archs = f.config.value("architectures", json::array());
  if (archs.is_array())
    for (const json& a : archs)
      if (a.is_string() &&
          std::find(kArchitectures.begin(), kArchitectures.end(), a.get<std::string>()) != kArchitectures.end())
        return a.get<std::string>();
  return "BertModel";
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  return std::memcmp(ac.raw_data(), bc.raw_data(), size_t(a.numel()) * a.element_size()) == 0;
}

}  // namespace

bool is_bert(const HFFolder& folder) {
  if (hf_string(folder, "model_type", "") == "bert") return true;
  const json archs = folder.config.value("architectures", json::array());
  return archs.is_array() && std::any_of(archs.begin(), archs.end(), [](const json& a) {
           return a.is_string() &&
                  std::find(kArchitectures.begin(), kArchitectures.end(), a.get<std::string>()) != kArchitectures.end();
         });
}

ImportedModel bert_from_hf(const HFFolder& f, std::vector<std::string>& class_names, std::vector<std::string>& notes) {
  const std::string config = f.path + "/config.json";
  ImportedModel m;
  m.architecture = architecture_of(f);
  models::BertConfig c;
  c.vocab_size = hf_integer(f, "vocab_size", std::nullopt, 1, int64_t(1) << 31);
  c.hidden_size = hf_integer(f, "hidden_size", 768, 1, 1 << 16);
  c.num_hidden_layers = hf_integer(f, "num_hidden_layers", 12, 1, 1024);
  c.num_attention_heads = hf_integer(f, "num_attention_heads", 12, 1, 1024);
  c.intermediate_size = hf_integer(f, "intermediate_size", 3072, 1, 1 << 20);
  c.max_position_embeddings = hf_integer(f, "max_position_embeddings", 512, 1, 1 << 20);
  c.type_vocab_size = hf_integer(f, "type_vocab_size", 2, 1, 1 << 16);
  c.pad_token_id = hf_integer(f, "pad_token_id", 0, 0, c.vocab_size - 1);
  c.hidden_act = hf_string(f, "hidden_act", "gelu");
  c.hidden_dropout_prob = hf_number(f, "hidden_dropout_prob", 0.1);
  c.attention_probs_dropout_prob = hf_number(f, "attention_probs_dropout_prob", 0.1);
  c.layer_norm_eps = hf_number(f, "layer_norm_eps", 1e-12);
  NABLA_CHECK(c.hidden_size % c.num_attention_heads == 0, config, ": hidden_size (", c.hidden_size,
              ") must be a multiple of num_attention_heads (", c.num_attention_heads, ")");
  const auto& acts = nn::transformer_activations();
  NABLA_CHECK(std::find(acts.begin(), acts.end(), c.hidden_act) != acts.end(), config, ": hidden_act \"", c.hidden_act,
              "\" is not one nabla has; it has gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu");
  NABLA_CHECK(!hf_boolean(f, "is_decoder", false) && !hf_boolean(f, "add_cross_attention", false), config,
              ": a decoder BERT (is_decoder / add_cross_attention) is not supported");
  const std::string position = hf_string(f, "position_embedding_type", "absolute");
  NABLA_CHECK(position == "absolute", config, ": position_embedding_type \"", position,
              "\" is not supported (nabla's BERT has absolute positions)");

  // Hugging Face names: "bert." before the trunk except in BertModel's own files.
  std::map<std::string, Tensor> weights;
  const bool prefixed =
      std::any_of(f.weights.begin(), f.weights.end(), [](const auto& w) { return w.first.starts_with("bert."); });
  for (const auto& [name, t] : f.weights)
    weights[prefixed || name.starts_with("cls.") || name.starts_with("classifier.") ? name : "bert." + name] = t;
  c.pooler = weights.count("bert.pooler.dense.weight") > 0;
  if (m.architecture == "BertForSequenceClassification") {
    c.head = "classifier";
    const json labels = f.config.value("id2label", json::object());
    c.num_labels =
        labels.is_object() && !labels.empty() ? int64_t(labels.size()) : hf_integer(f, "num_labels", 2, 2, 1 << 20);
    class_names.assign(size_t(c.num_labels), "");
    for (int64_t i = 0; i < c.num_labels; ++i) {
      const std::string key = std::to_string(i);
      class_names[size_t(i)] =
          labels.contains(key) && labels[key].is_string() ? labels[key].get<std::string>() : "LABEL_" + key;
    }
  } else {
    c.head = weights.count("cls.predictions.bias") ? "mlm" : "none";
  }
  NABLA_CHECK(c.head != "classifier" || c.pooler, f.path,
              ": a BertForSequenceClassification without bert.pooler weights");

  // The tied decoder and its bias, where a file stores them, must be the embeddings and bias.
  if (const auto it = weights.find("cls.predictions.decoder.weight"); it != weights.end()) {
    NABLA_CHECK(same_bytes(it->second, weights.at("bert.embeddings.word_embeddings.weight")), f.path,
                ": cls.predictions.decoder.weight differs from the word embeddings; nabla's BERT ties them");
    weights.erase(it);
  }
  if (const auto it = weights.find("cls.predictions.decoder.bias"); it != weights.end()) {
    NABLA_CHECK(weights.count("cls.predictions.bias") && same_bytes(it->second, weights.at("cls.predictions.bias")),
                f.path, ": cls.predictions.decoder.bias differs from cls.predictions.bias");
    weights.erase(it);
  }
  for (auto it = weights.begin(); it != weights.end();) {
    if (it->first.starts_with("cls.seq_relationship.")) {
      notes.push_back("left out " + it->first + " (the next-sentence head, which nabla's BERT does not compute)");
      it = weights.erase(it);
    } else if (it->first.ends_with("embeddings.position_ids") || it->first.ends_with("embeddings.token_type_ids")) {
      it = weights.erase(it);  // buffers older versions saved, not weights
    } else {
      ++it;
    }
  }

  // Every weight against a Bert of this config: the same names and shapes, nothing left over.
  models::Bert reference(c);
  const auto expected = reference.state_dict();
  for (const auto& [name, t] : expected) {
    const auto it = weights.find(name);
    NABLA_CHECK(it != weights.end(), f.path, ": the weights have no \"", name, "\", which a ", m.architecture, " with ",
                c.num_hidden_layers, " layers (config.json num_hidden_layers) needs");
    NABLA_CHECK(it->second.shape() == t.shape(), f.path, ": \"", name, "\" has shape ", it->second.shape(),
                ", but config.json (vocab_size ", c.vocab_size, ", hidden_size ", c.hidden_size, ", intermediate_size ",
                c.intermediate_size, ", max_position_embeddings ", c.max_position_embeddings, ") makes it ", t.shape());
  }
  for (const auto& [name, t] : weights)
    NABLA_CHECK(expected.count(name), f.path, ": \"", name, "\" is not a weight of a ", m.architecture, " with ",
                c.num_hidden_layers, " layers; nabla would ignore it, so it stops instead");
  m.vocab_size = c.vocab_size;
  m.context = c.max_position_embeddings;
  m.weights = std::move(weights);
  m.model = {{"type", "bert"},
             {"head", c.head},
             {"hidden_size", c.hidden_size},
             {"num_hidden_layers", c.num_hidden_layers},
             {"num_attention_heads", c.num_attention_heads},
             {"intermediate_size", c.intermediate_size},
             {"max_position_embeddings", c.max_position_embeddings},
             {"type_vocab_size", c.type_vocab_size},
             {"pad_token_id", c.pad_token_id},
             {"hidden_act", c.hidden_act},
             {"hidden_dropout_prob", c.hidden_dropout_prob},
             {"attention_probs_dropout_prob", c.attention_probs_dropout_prob},
             {"layer_norm_eps", c.layer_norm_eps},
             {"pooler", c.pooler}};
  return m;
}

json bert_hf_config(const json& model, int64_t vocab_size, const std::vector<std::string>& class_names,
                    const json& base) {
  json c = base.is_object() ? base : json::object();
  const std::string head = model.value("head", "mlm");
  c["architectures"] = {head == "classifier" ? "BertForSequenceClassification"
                        : head == "mlm"      ? "BertForMaskedLM"
                                             : "BertModel"};
  c["model_type"] = "bert";
  c["vocab_size"] = vocab_size;
  for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                          "max_position_embeddings", "type_vocab_size", "pad_token_id", "hidden_act",
                          "hidden_dropout_prob", "attention_probs_dropout_prob", "layer_norm_eps"})
    c[key] = model.at(key);
  c["tie_word_embeddings"] = true;
  if (head == "classifier") {
    json id2label = json::object(), label2id = json::object();
    for (size_t i = 0; i < class_names.size(); ++i) {
      id2label[std::to_string(i)] = class_names[i];
      label2id[class_names[i]] = i;
    }
    c["id2label"] = id2label;
    c["label2id"] = label2id;
  }
  if (!c.contains("initializer_range")) c["initializer_range"] = 0.02;
  return c;
}

std::map<std::string, Tensor> bert_hf_weights(const std::map<std::string, Tensor>& state) { return state; }

}  // namespace nabla::interop
