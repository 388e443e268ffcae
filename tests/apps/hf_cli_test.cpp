// Hugging Face folders through the command line: nabla import -> info, summary, generate (greedy,
// as transformers' generate), train --resume (fine-tuning), eval, predict (fill-mask and a
// classifier) -> nabla export; failures write nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "../run_command.h"
#include "nabla/data/byte_level_bpe_tokenizer.h"
#include "nabla/io/checkpoint.h"
#include "nabla/io/safetensors.h"

namespace fs = std::filesystem;
using nabla::test_support::CommandResult;

namespace {

const std::string kGolden = std::string(NABLA_SOURCE_DIR) + "/tests/golden/pretrained/";

CommandResult run(const std::string& args) {
  return nabla::test_support::run_command(std::string(NABLA_BINARY_DIR "/bin/nabla ") + args);
}

using HFCli = nabla::test_support::ScratchDirTest;

}  // namespace

TEST_F(HFCli, Gpt2ImportsGeneratesAsTransformersFineTunesAndExports) {
  const std::string out = path("gpt2");
  CommandResult r = run("import " + kGolden + "gpt2_tiny --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("imported GPT2LMHeadModel (59520 parameters"), std::string::npos) << r.output;
  // The folder's config.json is kept with the run (export writes it back with its other keys).
  EXPECT_EQ(nabla::io::load_json(out + "/config.json")["hf"]["config"]["model_type"], "gpt2");
  ASSERT_EQ(run("info " + out).status, 0);
  r = run("summary " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("59,520"), std::string::npos) << r.output;

  // Greedy generation prints the prompt and transformers' 50 greedy tokens.
  const auto tokenizer = nabla::data::ByteLevelBPETokenizer::from_tokenizer_json(kGolden + "gpt2_tiny/tokenizer.json");
  const auto expected = nabla::io::load_safetensors(kGolden + "expected.safetensors").tensors;
  const nabla::Tensor greedy = expected.at("gpt2.greedy.0");
  const std::string continuation =
      tokenizer.decode(std::vector<int64_t>(greedy.data<int64_t>(), greedy.data<int64_t>() + greedy.numel()));
  r = run("generate " + out + " --prompt \"In the beginning God created\" -n 50 --temperature 0");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("In the beginning God created" + continuation), std::string::npos) << r.output;

  // Training continues from the imported weights, on the KJV with the imported tokenizer.
  r = run("train --resume " + out + " --set training.steps_per_epoch=3 --verbose 0");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("eval " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("perplexity"), std::string::npos) << r.output;

  const std::string exported = path("gpt2_hf");
  r = run("export " + out + " --format hf --out " + exported);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt"})
    EXPECT_TRUE(fs::exists(exported + "/" + file)) << file;
  r = run("export " + out + " --format hf --out " + exported);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--overwrite"), std::string::npos) << r.output;
}

TEST_F(HFCli, BertFillsMasksAndClassifies) {
  const std::string mlm = path("bert"), classifier = path("classifier");
  ASSERT_EQ(run("import " + kGolden + "bert_tiny --out " + mlm).status, 0);
  CommandResult r = run("predict " + mlm + " \"And God said, Let there be [MASK].\"");
  ASSERT_EQ(r.status, 0) << r.output;
  // transformers' top fillers for this weights and text (expected.safetensors bert.mask.logits).
  EXPECT_NE(r.output.find("[MASK] at token 8:  ##im 0.0067  who 0.0044"), std::string::npos) << r.output;
  r = run("predict " + mlm + " \"no mask in this one\"");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no [MASK]"), std::string::npos) << r.output;
  // The imported masked LM trains further on masked KJV windows (its own WordPiece, [MASK] and
  // all), and eval scores its masked tokens.
  r = run("train --resume " + mlm + " --set training.steps_per_epoch=3 --verbose 0");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("eval " + mlm);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("accuracy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("perplexity"), std::string::npos) << r.output;

  ASSERT_EQ(run("import " + kGolden + "bert_tiny_classifier --out " + classifier).status, 0);
  r = run("predict " + classifier + " \"Jesus wept.\"");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("gospels"), std::string::npos) << r.output;
}

TEST_F(HFCli, AFailedImportWritesNothing) {
  const std::string out = path("nothing");
  CommandResult r = run("import " + path("absent") + " --out " + out);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not a directory"), std::string::npos) << r.output;
  fs::create_directories(path("half"));
  fs::copy_file(kGolden + "gpt2_tiny/config.json", path("half/config.json"));
  r = run("import " + path("half") + " --out " + out);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no weights"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}
