// Hugging Face GPT-2 folders in and out, against transformers' own outputs on identical weights
// (tests/golden/pretrained/gpt2_tiny and expected.safetensors, made by make_pretrained_golden.py):
// logits, greedy generation, export -> import bit for bit, sharded weights, and bad folders.
#include "nabla/interop/hf_gpt2.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "../error_message.h"
#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/interop/hf_folder.h"
#include "nabla/io/checkpoint.h"
#include "nabla/io/safetensors.h"
#include "nabla/models/generation.h"
#include "nabla/models/gpt.h"
#include "nabla/runs/hf_runs.h"
#include "nabla/runs/loaded_run.h"
#include "relative_error.h"

using namespace nabla;
using nabla::test_support::error_of;
using nabla::test_support::max_relative_error;
namespace fs = std::filesystem;

namespace {

const std::string kGolden = std::string(NABLA_SOURCE_DIR) + "/tests/golden/pretrained/";

const io::SafetensorsFile& expected() {
  static const io::SafetensorsFile e = io::load_safetensors(kGolden + "expected.safetensors");
  return e;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("nabla_hf_test_" + name);
  fs::remove_all(dir);
  return dir;
}

// A copy of the tiny GPT-2 folder to damage.
fs::path copy_of_gpt2(const std::string& name) {
  const fs::path dir = fresh_dir(name);
  fs::copy(kGolden + "gpt2_tiny", dir, fs::copy_options::recursive);
  return dir;
}

std::vector<int64_t> ids_of(const Tensor& t) {
  const int64_t* p = t.data<int64_t>();
  return std::vector<int64_t>(p, p + t.numel());
}

void expect_same_weights(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    const Tensor& u = b.at(name);
    ASSERT_EQ(t.shape(), u.shape()) << name;
    const Tensor tc = t.contiguous(), uc = u.contiguous();
    EXPECT_EQ(std::memcmp(tc.raw_data(), uc.raw_data(), size_t(t.numel()) * t.element_size()), 0) << name;
  }
}

runs::LoadedRun imported(const std::string& name) {
  const fs::path run = fresh_dir(name);
  runs::import_hf(kGolden + "gpt2_tiny", run.string(), false);
  return runs::load_run(run.string());
}

}  // namespace

TEST(HFGPT2, LogitsMatchTransformersOnIdenticalWeights) {
  runs::LoadedRun run = imported("logits");
  auto& gpt = dynamic_cast<models::GPT&>(*run.model.module);
  NoGradGuard no_grad;
  for (int prompt = 0; prompt < 3; ++prompt) {
    const Tensor ids = expected().tensors.at("gpt2.ids." + std::to_string(prompt));
    const Tensor logits = gpt.forward(ids.reshape({1, ids.numel()})).squeeze(0);
    EXPECT_LT(max_relative_error(logits, expected().tensors.at("gpt2.logits." + std::to_string(prompt))), 1e-4)
        << "prompt " << prompt;
  }
}

TEST(HFGPT2, TokenizerAndGreedyGenerationMatchTransformers) {
  runs::LoadedRun run = imported("greedy");
  const Tensor prompt = expected().tensors.at("gpt2.ids.0");
  EXPECT_EQ(run.tokenizer->encode("In the beginning God created"), ids_of(prompt));
  Generator gen(1);
  const auto tokens = models::generate(dynamic_cast<models::LanguageModel&>(*run.model.module), ids_of(prompt), 50,
                                       models::SamplingOptions{.temperature = 0.0}, gen);
  EXPECT_EQ(tokens, ids_of(expected().tensors.at("gpt2.greedy.0")));
}

TEST(HFGPT2, ExportThenImportIsBitExact) {
  const fs::path run = fresh_dir("export_run"), out = fresh_dir("export_out"), again = fresh_dir("export_again");
  runs::import_hf(kGolden + "gpt2_tiny", run.string(), false);
  const runs::ExportResult r = runs::export_hf(run.string(), out.string(), false);
  EXPECT_TRUE(r.tokenizer_written) << r.tokenizer_note;
  for (const char* file : {"config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer.json"})
    EXPECT_TRUE(fs::exists(out / file)) << file;
  // The weights written are transformers' own, byte for byte (lm_head is tied, so absent in both).
  auto original = interop::read_hf_folder(kGolden + "gpt2_tiny").weights;
  expect_same_weights(interop::read_hf_folder(out.string()).weights, original);
  // And importing the export gives the same run weights and the same tokenizer.
  runs::import_hf(out.string(), again.string(), false);
  expect_same_weights(io::load_checkpoint((again / "checkpoints/last").string()).model,
                      io::load_checkpoint((run / "checkpoints/last").string()).model);
  EXPECT_EQ(io::load_json((again / "config.json").string())["tokenizer"],
            io::load_json((run / "config.json").string())["tokenizer"]);
  // Exporting over an existing folder needs --overwrite.
  const std::string e = error_of([&] { runs::export_hf(run.string(), out.string(), false); });
  EXPECT_NE(e.find("already holds config.json"), std::string::npos) << e;
  EXPECT_NO_THROW(runs::export_hf(run.string(), out.string(), true));
}

TEST(HFGPT2, ShardedWeightsImportLikeOneFile) {
  const fs::path dir = copy_of_gpt2("sharded");
  auto weights = io::load_safetensors((dir / "model.safetensors").string()).tensors;
  fs::remove(dir / "model.safetensors");
  std::map<std::string, Tensor> first, second;
  nlohmann::json map = nlohmann::json::object();
  for (auto& [name, t] : weights) {
    const bool in_first = name.find(".h.1.") == std::string::npos;
    (in_first ? first : second)[name] = t.clone();
    map[name] = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  io::save_safetensors((dir / "model-00001-of-00002.safetensors").string(), first);
  io::save_safetensors((dir / "model-00002-of-00002.safetensors").string(), second);
  io::save_json((dir / "model.safetensors.index.json").string(), {{"metadata", {}}, {"weight_map", map}});
  const auto sharded = interop::gpt2_from_hf(interop::read_hf_folder(dir.string())).weights;
  const auto single = interop::gpt2_from_hf(interop::read_hf_folder(kGolden + "gpt2_tiny")).weights;
  expect_same_weights(sharded, single);

  // An index naming a shard that is not there.
  fs::remove(dir / "model-00002-of-00002.safetensors");
  const std::string e = error_of([&] { interop::read_hf_folder(dir.string()); });
  EXPECT_NE(e.find("model-00002-of-00002.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("not in"), std::string::npos) << e;
}

TEST(HFGPT2, BadFoldersAreClearErrorsAndImportWritesNothing) {
  const fs::path out = fresh_dir("bad_out");
  auto import_error = [&](const fs::path& dir) {
    const std::string e = error_of([&] { runs::import_hf(dir.string(), out.string(), false); });
    EXPECT_FALSE(fs::exists(out)) << "import wrote " << out << " although it failed: " << e;
    return e;
  };
  {  // no config.json
    const fs::path dir = copy_of_gpt2("no_config");
    fs::remove(dir / "config.json");
    EXPECT_NE(import_error(dir).find("no config.json"), std::string::npos);
  }
  {  // pickle weights only
    const fs::path dir = copy_of_gpt2("pickle");
    fs::rename(dir / "model.safetensors", dir / "pytorch_model.bin");
    const std::string e = import_error(dir);
    EXPECT_NE(e.find("pytorch_model.bin"), std::string::npos) << e;
    EXPECT_NE(e.find("save_pretrained"), std::string::npos) << e;
  }
  {  // an architecture nabla does not have
    const fs::path dir = copy_of_gpt2("llama");
    auto config = io::load_json((dir / "config.json").string());
    config["model_type"] = "llama";
    config["architectures"] = {"LlamaForCausalLM"};
    io::save_json((dir / "config.json").string(), config);
    const std::string e = import_error(dir);
    EXPECT_NE(e.find("llama"), std::string::npos) << e;
    EXPECT_NE(e.find("GPT2LMHeadModel"), std::string::npos) << e;
  }
  {  // a shape that disagrees with config.json
    const fs::path dir = copy_of_gpt2("shape");
    auto config = io::load_json((dir / "config.json").string());
    config["n_embd"] = 48;
    config["n_head"] = 2;
    io::save_json((dir / "config.json").string(), config);
    const std::string e = import_error(dir);
    EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("n_embd 48"), std::string::npos) << e;
  }
  {  // a vocabulary larger than the embedding
    const fs::path dir = copy_of_gpt2("vocab");
    auto weights = io::load_safetensors((dir / "model.safetensors").string()).tensors;
    auto config = io::load_json((dir / "config.json").string());
    config["vocab_size"] = 500;
    weights["transformer.wte.weight"] = weights["transformer.wte.weight"].narrow(0, 0, 500).contiguous();
    io::save_safetensors((dir / "model.safetensors").string(), weights);
    io::save_json((dir / "config.json").string(), config);
    const std::string e = import_error(dir);
    EXPECT_NE(e.find("the tokenizer has 1000 tokens"), std::string::npos) << e;
  }
  {  // a weight nabla's GPT has no place for
    const fs::path dir = copy_of_gpt2("extra");
    auto weights = io::load_safetensors((dir / "model.safetensors").string()).tensors;
    weights["transformer.h.0.attn.q_norm.weight"] = ones({32});
    io::save_safetensors((dir / "model.safetensors").string(), weights);
    const std::string e = import_error(dir);
    EXPECT_NE(e.find("transformer.h.0.attn.q_norm.weight"), std::string::npos) << e;
  }
  {  // a config value of the wrong type
    const fs::path dir = copy_of_gpt2("type");
    auto config = io::load_json((dir / "config.json").string());
    config["n_layer"] = "two";
    io::save_json((dir / "config.json").string(), config);
    const std::string e = import_error(dir);
    EXPECT_NE(e.find("\"n_layer\" must be an integer"), std::string::npos) << e;
  }
  {  // no tokenizer files
    const fs::path dir = copy_of_gpt2("no_tokenizer");
    for (const char* f : {"tokenizer.json", "vocab.json", "merges.txt"}) fs::remove(dir / f);
    EXPECT_NE(import_error(dir).find("no tokenizer"), std::string::npos);
  }
  // A run already in --out is not replaced without --overwrite.
  runs::import_hf(kGolden + "gpt2_tiny", out.string(), false);
  const std::string e = error_of([&] { runs::import_hf(kGolden + "gpt2_tiny", out.string(), false); });
  EXPECT_NE(e.find("--overwrite"), std::string::npos) << e;
}
