// import_hf / export_hf: the interop layer's conversions, wrapped as run directories.
#include "nabla/runs/hf_runs.h"

#include <filesystem>

#include "nabla/core/error.h"
#include "nabla/interop/hf_folder.h"
#include "nabla/interop/hf_gpt2.h"
#include "nabla/interop/hf_tokenizer.h"
#include "nabla/io/checkpoint.h"
#include "nabla/runs/loaded_run.h"
#include "nabla/runs/run_directory.h"
#include "nabla/runs/task_data.h"

namespace nabla::runs {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The run config an imported language model gets: the KJV as its evaluation and fine-tuning data,
// and generation defaults; training keys are the ones `nabla train` records.
json imported_config(const std::string& name, const std::string& description, const json& model, int64_t context) {
  return {
      {"name", name},
      {"description", description},
      {"seed", 42},
      {"data",
       {{"dataset", "kjv_lm"}, {"seq_len", std::min<int64_t>(context, 256)}, {"tokenizer", {{"type", "pretrained"}}}}},
      {"model", model},
      {"training",
       {{"epochs", 1},
        {"batch_size", 8},
        {"loss", loss_for(models::Task::language_model)},
        {"metrics", metrics_for(models::Task::language_model)},
        {"optimizer", {{"name", "adamw"}, {"lr", 1e-4}, {"weight_decay", 0.0}}}}},
      {"generate", {{"prompt", "And God said"}, {"tokens", 100}, {"temperature", 0.8}, {"top_k", 0}, {"top_p", 0.95}}}};
}

}  // namespace

ImportResult import_hf(const std::string& hf_dir, const std::string& out_dir, bool overwrite) {
  NABLA_CHECK(!out_dir.empty(), "import: no run directory given (--out)");
  check_new_run(out_dir, overwrite);
  interop::HFFolder folder = interop::read_hf_folder(hf_dir);
  NABLA_CHECK(interop::is_gpt2(folder), hf_dir, "/config.json: model_type \"",
              interop::hf_string(folder, "model_type", "(none)"), "\" (architectures ",
              folder.config.value("architectures", json()).dump(),
              ") is not an architecture nabla imports; it imports GPT2LMHeadModel and GPT2Model (model_type gpt2)");
  interop::ImportedModel model = interop::gpt2_from_hf(folder);
  std::unique_ptr<data::Tokenizer> tokenizer = interop::read_hf_tokenizer(hf_dir);
  NABLA_CHECK(tokenizer->vocab_size() <= model.vocab_size, hf_dir, ": the tokenizer has ", tokenizer->vocab_size(),
              " tokens but the token embedding (wte.weight, config.json vocab_size) only ", model.vocab_size,
              " rows; the tokenizer files belong to another model");

  ImportResult result;
  result.architecture = model.architecture;
  result.tokenizer = tokenizer->type();
  result.vocab_size = model.vocab_size;
  result.context = model.context;
  for (const auto& [name, w] : model.weights) result.parameters += w.numel();
  const std::string name = fs::path(out_dir).filename().empty() ? fs::path(out_dir).parent_path().filename().string()
                                                                : fs::path(out_dir).filename().string();
  json info = {
      {"config", imported_config(name, model.architecture + " imported from " + hf_dir, model.model, model.context)},
      {"tokenizer", tokenizer->to_json()},
      {"data_shape",
       {{"input", {std::min<int64_t>(model.context, 256)}},
        {"input_dtype", "i64"},
        {"classes", 0},
        {"vocab_size", model.vocab_size}}},
      {"model_type", "gpt"},
      {"task", loss_for(models::Task::language_model)},
      {"class_names", json::array()},
      {"hf", {{"architecture", model.architecture}, {"config", folder.config}, {"source", hf_dir}}}};

  // Only now, with everything read and checked, is the run directory made.
  const bool existed = fs::exists(out_dir);
  RunDirectory directory(out_dir, RunDirectory::Purpose::new_run, overwrite);
  result.replaced_run = directory.replaced_run();
  try {
    io::Checkpoint checkpoint;
    checkpoint.config = info["config"];
    checkpoint.model = std::move(model.weights);
    checkpoint.state = {{"epoch", 0}, {"imported_from", hf_dir}};
    io::save_checkpoint(out_dir + "/checkpoints/best", checkpoint);
    io::save_json(out_dir + "/config.json", info);
  } catch (...) {
    std::error_code ignored;
    if (!existed)
      fs::remove_all(out_dir, ignored);
    else
      fs::remove_all(out_dir + "/checkpoints", ignored);
    throw;
  }
  return result;
}

ExportResult export_hf(const std::string& run_dir, const std::string& out_dir, bool overwrite) {
  NABLA_CHECK(!out_dir.empty(), "export: no output folder given (--out)");
  LoadedRun run = load_run(run_dir);
  const json& model = run.info.at("config").at("model");
  NABLA_CHECK(run.model.type == "gpt", run_dir, ": model.type \"", run.model.type,
              "\" has no Hugging Face form; gpt runs export as GPT2LMHeadModel");
  for (const char* file : {"config.json", "model.safetensors", "model.safetensors.index.json"})
    NABLA_CHECK(overwrite || !fs::exists(fs::path(out_dir) / file), out_dir, " already holds ", file,
                "; export into a new folder, or pass --overwrite to replace its files");
  NABLA_CHECK(!fs::exists(out_dir) || fs::is_directory(out_dir), out_dir, ": exists and is not a directory");

  const int64_t vocab = run.info.at("data_shape").at("vocab_size").get<int64_t>();
  const json base = run.info.contains("hf") ? run.info["hf"].value("config", json::object()) : json::object();
  const json config = interop::gpt2_hf_config(model, vocab, base);
  const auto weights = interop::gpt2_hf_weights(run.model.module->state_dict());

  ExportResult result;
  result.architecture = "GPT2LMHeadModel";
  fs::create_directories(out_dir);
  interop::write_hf_weights(out_dir, weights);
  if (run.tokenizer) {
    try {
      interop::write_hf_tokenizer(out_dir, *run.tokenizer, model.at("context").get<int64_t>());
      result.tokenizer_written = true;
    } catch (const Error& e) {
      result.tokenizer_note = e.what();
    }
  }
  json with_tokens = config;
  if (result.tokenizer_written)
    if (const auto* bpe = run.tokenizer.get(); bpe) {
      const json t = bpe->to_json();
      if (t.contains("special") && t["special"].contains("<|endoftext|>"))
        with_tokens["bos_token_id"] = with_tokens["eos_token_id"] = t["special"]["<|endoftext|>"];
    }
  io::save_json(out_dir + "/config.json", with_tokens);  // last: a folder with config.json is complete
  return result;
}

}  // namespace nabla::runs
