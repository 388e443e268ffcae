// Hugging Face BERT folders in and out, against transformers on identical weights
// (tests/golden/pretrained/bert_tiny, bert_tiny_classifier, expected.safetensors): hidden states,
// MLM and classifier logits on a padded batch with a sentence pair, fill-mask, export -> import bit
// for bit, and bad folders.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "../error_message.h"
#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/data/wordpiece_tokenizer.h"
#include "nabla/interop/hf_folder.h"
#include "nabla/io/checkpoint.h"
#include "nabla/io/safetensors.h"
#include "nabla/models/bert.h"
#include "nabla/models/bert_tasks.h"
#include "nabla/ops/activation.h"
#include "nabla/runs/hf_runs.h"
#include "nabla/runs/loaded_run.h"
#include "relative_error.h"

using namespace nabla;
using nabla::test_support::error_of;
using nabla::test_support::max_relative_error;
namespace fs = std::filesystem;

namespace {

const std::string kGolden = std::string(NABLA_SOURCE_DIR) + "/tests/golden/pretrained/";

const std::map<std::string, Tensor>& expected() {
  static const auto e = io::load_safetensors(kGolden + "expected.safetensors").tensors;
  return e;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("nabla_hf_bert_test_" + name);
  fs::remove_all(dir);
  return dir;
}

runs::LoadedRun imported(const std::string& folder, const std::string& name) {
  const fs::path run = fresh_dir(name);
  runs::import_hf(kGolden + folder, run.string(), false);
  return runs::load_run(run.string());
}

}  // namespace

TEST(HFBert, MaskedLMMatchesTransformersOnAPaddedBatchWithAPair) {
  runs::LoadedRun run = imported("bert_tiny", "mlm");
  auto& bert = dynamic_cast<models::Bert&>(*run.model.module);
  NoGradGuard no_grad;
  const Tensor ids = expected().at("bert.input_ids"), types = expected().at("bert.token_type_ids"),
               mask = expected().at("bert.attention_mask");
  EXPECT_LT(max_relative_error(bert.encode(ids, types, mask), expected().at("bert.last_hidden_state")), 1e-4);
  EXPECT_LT(max_relative_error(bert.forward(ids, types, mask), expected().at("bert.mlm_logits")), 1e-4);
  // The one-argument forward derives the mask from [PAD] and types 0: the first (unpaired) row agrees.
  const Tensor first = bert.forward(ids.narrow(0, 0, 1));
  EXPECT_LT(max_relative_error(first, expected().at("bert.mlm_logits").narrow(0, 0, 1)), 1e-4);
}

TEST(HFBert, FillMaskGivesTransformersTopTokens) {
  runs::LoadedRun run = imported("bert_tiny", "fill");
  auto& bert = dynamic_cast<models::Bert&>(*run.model.module);
  const auto& tok = dynamic_cast<const data::WordPieceTokenizer&>(*run.tokenizer);
  const auto fills = models::fill_mask(bert, tok, "And God said, Let there be [MASK].", 5);
  ASSERT_EQ(fills.size(), 1u);
  const Tensor want_ids = expected().at("bert.mask.ids");
  const auto enc = tok.encode_for_model("And God said, Let there be [MASK].");
  ASSERT_EQ(enc.ids, std::vector<int64_t>(want_ids.data<int64_t>(), want_ids.data<int64_t>() + want_ids.numel()));
  const Tensor probs = softmax(expected().at("bert.mask.logits").select(0, 0).select(0, fills[0].position), -1);
  for (const auto& [token, p] : fills[0].candidates)
    EXPECT_NEAR(p, probs.data<float>()[tok.id_of(token)], 1e-5) << token;
  // The candidates are the likeliest: none outside them is more probable than the last.
  int more_likely = 0;
  for (int64_t i = 0; i < probs.numel(); ++i)
    more_likely += probs.data<float>()[i] > fills[0].candidates.back().second + 1e-7;
  EXPECT_EQ(more_likely, 4);
  EXPECT_NE(error_of([&] { models::fill_mask(bert, tok, "no mask here"); }).find("no [MASK]"), std::string::npos);
}

TEST(HFBert, ClassifierMatchesTransformers) {
  runs::LoadedRun run = imported("bert_tiny_classifier", "classifier");
  EXPECT_EQ(run.class_names, std::vector<std::string>({"law", "prophets", "gospels"}));
  auto& bert = dynamic_cast<models::Bert&>(*run.model.module);
  NoGradGuard no_grad;
  const Tensor ids = expected().at("bert.input_ids"), types = expected().at("bert.token_type_ids"),
               mask = expected().at("bert.attention_mask");
  const Tensor hidden = bert.encode(ids, types, mask);
  EXPECT_LT(max_relative_error(hidden, expected().at("classifier.last_hidden_state")), 1e-4);
  EXPECT_LT(max_relative_error(bert.pool(hidden), expected().at("classifier.pooler_output")), 1e-4);
  EXPECT_LT(max_relative_error(bert.forward(ids, types, mask), expected().at("classifier.logits")), 1e-4);
}

TEST(HFBert, ExportThenImportIsBitExact) {
  for (const std::string folder : {"bert_tiny", "bert_tiny_classifier"}) {
    const fs::path run = fresh_dir("x_run"), out = fresh_dir("x_out"), again = fresh_dir("x_again");
    runs::import_hf(kGolden + folder, run.string(), false);
    const runs::ExportResult r = runs::export_hf(run.string(), out.string(), false);
    EXPECT_TRUE(r.tokenizer_written) << r.tokenizer_note;
    const auto original = interop::read_hf_folder(kGolden + folder).weights;
    const auto exported = interop::read_hf_folder(out.string()).weights;
    ASSERT_EQ(exported.size(), original.size()) << folder;
    for (const auto& [name, t] : original) {
      ASSERT_TRUE(exported.count(name)) << name;
      EXPECT_EQ(std::memcmp(exported.at(name).raw_data(), t.raw_data(), size_t(t.numel()) * t.element_size()), 0)
          << name;
    }
    runs::import_hf(out.string(), again.string(), false);
    EXPECT_EQ(io::load_json((again / "config.json").string())["tokenizer"],
              io::load_json((run / "config.json").string())["tokenizer"]);
    EXPECT_EQ(io::load_json((again / "config.json").string())["class_names"],
              io::load_json((run / "config.json").string())["class_names"]);
  }
}

TEST(HFBert, BadFoldersAreClearErrors) {
  const fs::path out = fresh_dir("bad_out");
  auto import_error = [&](const fs::path& dir) {
    const std::string e = error_of([&] { runs::import_hf(dir.string(), out.string(), false); });
    EXPECT_FALSE(fs::exists(out)) << e;
    return e;
  };
  auto copy = [&](const std::string& name) {
    const fs::path dir = fresh_dir(name);
    fs::copy(kGolden + "bert_tiny", dir, fs::copy_options::recursive);
    return dir;
  };
  {  // a decoder weight that is not the word embeddings
    const fs::path dir = copy("untied");
    auto w = io::load_safetensors((dir / "model.safetensors").string()).tensors;
    w["cls.predictions.decoder.weight"] = zeros({1000, 32});
    io::save_safetensors((dir / "model.safetensors").string(), w);
    EXPECT_NE(import_error(dir).find("cls.predictions.decoder.weight differs"), std::string::npos);
  }
  {  // a missing layer
    const fs::path dir = copy("missing");
    auto config = io::load_json((dir / "config.json").string());
    config["num_hidden_layers"] = 3;
    io::save_json((dir / "config.json").string(), config);
    const std::string e = import_error(dir);
    EXPECT_NE(e.find("bert.encoder.layer.2."), std::string::npos) << e;
  }
  {  // a GPT-2 tokenizer beside BERT weights
    const fs::path dir = copy("wrong_tokenizer");
    for (const char* f : {"tokenizer.json", "vocab.txt"}) fs::remove(dir / f);
    fs::copy(kGolden + "gpt2_tiny/tokenizer.json", dir / "tokenizer.json");
    EXPECT_NE(import_error(dir).find("WordPiece"), std::string::npos);
  }
  {  // an unknown activation
    const fs::path dir = copy("act");
    auto config = io::load_json((dir / "config.json").string());
    config["hidden_act"] = "swishy";
    io::save_json((dir / "config.json").string(), config);
    EXPECT_NE(import_error(dir).find("hidden_act \"swishy\""), std::string::npos);
  }
}
