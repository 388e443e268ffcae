// The GPT-2 name map: one table of (Hugging Face name, nabla name, transposed?) per block.
#include "nabla/interop/hf_gpt2.h"

#include <algorithm>
#include <set>

#include "nabla/core/error.h"
#include "nabla/nn/attention.h"

namespace nabla::interop {
using nlohmann::json;

namespace {

struct NamePair {
  const char* hf;
  const char* nabla;
  bool transposed;  // Conv1D [in, out] <-> Linear [out, in]
};

constexpr NamePair kBlock[] = {
    {"ln_1.weight", "ln_1.weight", false},
    {"ln_1.bias", "ln_1.bias", false},
    {"attn.c_attn.weight", "attn.in_proj_weight", true},
    {"attn.c_attn.bias", "attn.in_proj_bias", false},
    {"attn.c_proj.weight", "attn.out_proj.weight", true},
    {"attn.c_proj.bias", "attn.out_proj.bias", false},
    {"ln_2.weight", "ln_2.weight", false},
    {"ln_2.bias", "ln_2.bias", false},
    {"mlp.c_fc.weight", "mlp.fc.weight", true},
    {"mlp.c_fc.bias", "mlp.fc.bias", false},
    {"mlp.c_proj.weight", "mlp.proj.weight", true},
    {"mlp.c_proj.bias", "mlp.proj.bias", false},
};
constexpr NamePair kTop[] = {
    {"wte.weight", "wte.weight", false},
    {"wpe.weight", "wpe.weight", false},
    {"ln_f.weight", "ln_f.weight", false},
    {"ln_f.bias", "ln_f.bias", false},
};

const std::vector<std::string> kArchitectures = {"GPT2LMHeadModel", "GPT2Model"};

// Hugging Face's shape of each weight, from config.json's sizes.
Shape hf_shape(const std::string& name, int64_t vocab, int64_t positions, int64_t e, int64_t hidden) {
  if (name == "wte.weight") return {vocab, e};
  if (name == "wpe.weight") return {positions, e};
  if (name == "attn.c_attn.weight") return {e, 3 * e};
  if (name == "attn.c_attn.bias") return {3 * e};
  if (name == "attn.c_proj.weight") return {e, e};
  if (name == "mlp.c_fc.weight") return {e, hidden};
  if (name == "mlp.c_fc.bias") return {hidden};
  if (name == "mlp.c_proj.weight") return {hidden, e};
  return {e};  // LayerNorm gains and biases, c_proj biases
}

}  // namespace

bool is_gpt2(const HFFolder& folder) {
  if (hf_string(folder, "model_type", "") == "gpt2") return true;
  const json archs = folder.config.value("architectures", json::array());
  if (!archs.is_array()) return false;
  return std::any_of(archs.begin(), archs.end(), [](const json& a) {
    return a.is_string() &&
           std::find(kArchitectures.begin(), kArchitectures.end(), a.get<std::string>()) != kArchitectures.end();
  });
}

ImportedModel gpt2_from_hf(HFFolder f) {
  const std::string config = f.path + "/config.json";
  ImportedModel m;
  m.architecture = "GPT2LMHeadModel";
  const int64_t e = hf_integer(f, "n_embd", 768, 1, 1 << 16), heads = hf_integer(f, "n_head", 12, 1, 1024);
  const int64_t layers = hf_integer(f, "n_layer", 12, 1, 1024);
  m.vocab_size = hf_integer(f, "vocab_size", 50257, 1, int64_t(1) << 31);
  m.context = hf_integer(f, "n_positions", 1024, 1, 1 << 20);
  const int64_t inner = hf_integer(f, "n_inner", 0, 1, 1 << 20);
  const int64_t hidden = inner > 0 ? inner : 4 * e;
  NABLA_CHECK(e % heads == 0, config, ": n_embd (", e, ") must be a multiple of n_head (", heads, ")");
  const std::string activation = hf_string(f, "activation_function", "gelu_new");
  const auto& known = nn::transformer_activations();
  NABLA_CHECK(std::find(known.begin(), known.end(), activation) != known.end(), config, ": activation_function \"",
              activation, "\" is not one nabla has; it has gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu, silu");
  // Variants nabla's GPT does not compute: refuse rather than import something that computes otherwise.
  NABLA_CHECK(hf_boolean(f, "scale_attn_weights", true), config,
              ": scale_attn_weights false (attention without 1/sqrt(head_dim)) is not supported");
  NABLA_CHECK(!hf_boolean(f, "scale_attn_by_inverse_layer_idx", false), config,
              ": scale_attn_by_inverse_layer_idx true is not supported");
  NABLA_CHECK(!hf_boolean(f, "add_cross_attention", false), config,
              ": add_cross_attention true (an encoder-decoder GPT-2) is not supported");
  NABLA_CHECK(hf_boolean(f, "tie_word_embeddings", true), config,
              ": tie_word_embeddings false (an output layer separate from wte) is not supported");
  m.model = {{"type", "gpt"},
             {"n_layer", layers},
             {"n_head", heads},
             {"n_embd", e},
             {"context", m.context},
             {"vocab_size", m.vocab_size},
             {"dropout", hf_number(f, "resid_pdrop", 0.1)},
             {"n_inner", inner},
             {"layer_norm_epsilon", hf_number(f, "layer_norm_epsilon", 1e-5)},
             {"activation", activation}};

  // GPT2LMHeadModel prefixes the trunk's names with "transformer."; GPT2Model does not.
  const bool prefixed = f.weights.count("transformer.wte.weight") > 0;
  const std::string prefix = prefixed ? "transformer." : "";
  std::set<std::string> used;
  auto take = [&](const std::string& hf_suffix, const std::string& hf_name, const std::string& nabla_name,
                  bool transposed) {
    const std::string name = prefix + hf_name;
    const auto it = f.weights.find(name);
    NABLA_CHECK(it != f.weights.end(), f.path, ": the weights have no \"", name, "\", which a GPT-2 with ", layers,
                " layers (config.json n_layer) needs");
    const Shape want = hf_shape(hf_suffix, m.vocab_size, m.context, e, hidden);
    NABLA_CHECK(it->second.shape() == want, f.path, "/", f.weight_files.at(name), ": \"", name, "\" has shape ",
                it->second.shape(), ", but config.json (vocab_size ", m.vocab_size, ", n_positions ", m.context,
                ", n_embd ", e, ", n_inner ", hidden, ") makes it ", want);
    used.insert(name);
    if (!transposed) {
      m.weights[nabla_name] = it->second;
      return;
    }
    m.weights[nabla_name] = it->second.t().contiguous();
    it->second = Tensor();  // the mapped original: its pages may go
  };
  for (const NamePair& p : kTop) take(p.hf, p.hf, p.nabla, p.transposed);
  for (int64_t i = 0; i < layers; ++i)
    for (const NamePair& p : kBlock) {
      const std::string block = "h." + std::to_string(i) + ".";
      take(p.hf, block + p.hf, block + p.nabla, p.transposed);
    }
  if (const auto head = f.weights.find("lm_head.weight"); head != f.weights.end()) {
    const Tensor& wte = f.weights.at(prefix + "wte.weight");
    NABLA_CHECK(head->second.shape() == wte.shape() && head->second.dtype() == wte.dtype() &&
                    std::equal(static_cast<const char*>(head->second.raw_data()),
                               static_cast<const char*>(head->second.raw_data()) +
                                   head->second.numel() * head->second.element_size(),
                               static_cast<const char*>(wte.raw_data())),
                f.path, ": lm_head.weight differs from ", prefix,
                "wte.weight; nabla's GPT ties the output layer to the token embedding");
    used.insert(head->first);
  }
  for (const auto& [name, tensor] : f.weights) {
    if (used.count(name)) continue;
    // The causal-mask buffers older transformers versions saved carry no weights.
    if (name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias")) continue;
    fail(f.path, "/", f.weight_files.at(name), ": \"", name, "\" is not a weight of a GPT-2 with ", layers,
         " layers (config.json n_layer); nabla would ignore it, so it stops instead");
  }
  return m;
}

json gpt2_hf_config(const json& model, int64_t vocab_size, const json& base) {
  json c = base.is_object() ? base : json::object();
  const int64_t inner = model.value("n_inner", int64_t(0));
  const double dropout = model.value("dropout", 0.1);
  c["architectures"] = {"GPT2LMHeadModel"};
  c["model_type"] = "gpt2";
  c["vocab_size"] = vocab_size;
  c["n_positions"] = model.at("context");
  c["n_embd"] = model.at("n_embd");
  c["n_layer"] = model.at("n_layer");
  c["n_head"] = model.at("n_head");
  c["n_inner"] = inner > 0 ? json(inner) : json();
  c["activation_function"] = model.value("activation", "gelu_new");
  c["layer_norm_epsilon"] = model.value("layer_norm_epsilon", 1e-5);
  for (const char* key : {"resid_pdrop", "embd_pdrop", "attn_pdrop"})
    if (!c.contains(key)) c[key] = dropout;
  c["tie_word_embeddings"] = true;
  if (!c.contains("initializer_range")) c["initializer_range"] = 0.02;
  return c;
}

std::map<std::string, Tensor> gpt2_hf_weights(const std::map<std::string, Tensor>& state) {
  std::map<std::string, Tensor> out;
  auto put = [&](const std::string& hf_name, const std::string& nabla_name, bool transposed) {
    const auto it = state.find(nabla_name);
    NABLA_CHECK(it != state.end(), "export: the GPT's state has no \"", nabla_name, "\"");
    out["transformer." + hf_name] = transposed ? it->second.t().contiguous() : it->second;
  };
  for (const NamePair& p : kTop) put(p.hf, p.nabla, p.transposed);
  for (int64_t i = 0; state.count("h." + std::to_string(i) + ".ln_1.weight"); ++i)
    for (const NamePair& p : kBlock) {
      const std::string block = "h." + std::to_string(i) + ".";
      put(block + p.hf, block + p.nabla, p.transposed);
    }
  return out;
}

}  // namespace nabla::interop
