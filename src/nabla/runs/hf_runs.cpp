// import_hf / export_hf: the interop layer's conversions, wrapped as run directories.
#include "nabla/runs/hf_runs.h"

#include <filesystem>

#include "nabla/core/error.h"
#include "nabla/interop/hf_bert.h"
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

// The run config an imported model gets: data it can be evaluated and fine-tuned on (the KJV as
// text for a language model, masked KJV windows for a masked LM, the Old/New Testament task for a
// classifier), generation defaults,
// and the training keys `nabla train` records.
json imported_config(const std::string& name, const std::string& description, const json& model, models::Task task,
                     int64_t seq_len) {
  const json data =
      task == models::Task::classification
          ? json{{"dataset", "kjv_testament"}, {"max_length", seq_len}, {"tokenizer", {{"type", "pretrained"}}}}
      : task == models::Task::masked_lm
          ? json{{"dataset", "kjv_mlm"}, {"seq_len", seq_len}, {"tokenizer", {{"type", "pretrained"}}}}
          : json{{"dataset", "kjv_lm"}, {"seq_len", seq_len}, {"tokenizer", {{"type", "pretrained"}}}};
  json config = {{"name", name},
                 {"description", description},
                 {"seed", 42},
                 {"data", data},
                 {"model", model},
                 {"training",
                  {{"epochs", 1},
                   {"batch_size", 8},
                   {"loss", loss_for(task)},
                   {"metrics", metrics_for(task)},
                   {"optimizer", {{"name", "adamw"}, {"lr", 1e-4}, {"weight_decay", 0.0}}}}}};
  if (task == models::Task::language_model)
    config["generate"] = {
        {"prompt", "And God said"}, {"tokens", 100}, {"temperature", 0.8}, {"top_k", 0}, {"top_p", 0.95}};
  return config;
}

const char* const kImportable =
    "GPT2LMHeadModel, GPT2Model (model_type gpt2), BertForMaskedLM, BertForPreTraining, BertModel, "
    "BertForSequenceClassification (model_type bert)";

}  // namespace

ImportResult import_hf(const std::string& hf_dir, const std::string& out_dir, bool overwrite) {
  NABLA_CHECK(!out_dir.empty(), "import: no run directory given (--out)");
  check_new_run(out_dir, overwrite);
  interop::HFFolder folder = interop::read_hf_folder(hf_dir);
  const json hf_config = folder.config;  // kept with the run (the folder itself is handed on below)
  interop::ImportedModel model;
  std::vector<std::string> class_names, notes;
  models::Task task = models::Task::language_model;
  std::string model_type = "gpt";
  if (interop::is_gpt2(folder)) {
    model = interop::gpt2_from_hf(std::move(folder));
  } else if (interop::is_bert(folder)) {
    model = interop::bert_from_hf(folder, class_names, notes);
    model_type = "bert";
    task = model.model.at("head") == "classifier" ? models::Task::classification : models::Task::masked_lm;
  } else {
    fail(hf_dir, "/config.json: model_type \"", interop::hf_string(folder, "model_type", "(none)"),
         "\" (architectures ", folder.config.value("architectures", json()).dump(),
         ") is not an architecture nabla imports; it imports ", kImportable);
  }
  std::unique_ptr<data::Tokenizer> tokenizer = interop::read_hf_tokenizer(hf_dir);
  NABLA_CHECK(tokenizer->vocab_size() <= model.vocab_size, hf_dir, ": the tokenizer has ", tokenizer->vocab_size(),
              " tokens but the token embedding (config.json vocab_size) only ", model.vocab_size,
              " rows; the tokenizer files belong to another model");
  NABLA_CHECK(model_type != "bert" || tokenizer->type() == "wordpiece", hf_dir, ": a BERT needs a WordPiece tokenizer ",
              "(vocab.txt or a WordPiece tokenizer.json), this folder has a ", tokenizer->type(), " one");

  ImportResult result;
  result.architecture = model.architecture;
  result.tokenizer = tokenizer->type();
  result.vocab_size = model.vocab_size;
  result.context = model.context;
  result.notes = notes;
  for (const auto& [name, w] : model.weights) result.parameters += w.numel();
  const std::string name = fs::path(out_dir).filename().empty() ? fs::path(out_dir).parent_path().filename().string()
                                                                : fs::path(out_dir).filename().string();
  const int64_t seq_len = std::min<int64_t>(model.context, task == models::Task::classification ? 128 : 256);
  json info = {
      {"config", imported_config(name, model.architecture + " imported from " + hf_dir, model.model, task, seq_len)},
      {"tokenizer", tokenizer->to_json()},
      {"data_shape",
       {{"input", {seq_len}},
        {"input_dtype", "i64"},
        {"classes", int64_t(class_names.size())},
        {"vocab_size", model.vocab_size}}},
      {"model_type", model_type},
      {"task", loss_for(task)},
      {"class_names", class_names},
      {"hf", {{"architecture", model.architecture}, {"config", hf_config}, {"source", hf_dir}}}};

  // Only now, with everything read and checked, is the run directory made.
  const bool existed = fs::exists(out_dir);
  RunDirectory directory(out_dir, RunDirectory::Purpose::new_run, overwrite);
  result.replaced_run = directory.replaced_run();
  try {
    io::Checkpoint checkpoint;
    checkpoint.config = info["config"];
    checkpoint.model = std::move(model.weights);
    checkpoint.state = {{"epoch", 0}, {"imported_from", hf_dir}};
    // checkpoints/last, at epoch 0: the run loads as a trained one, and `nabla train --resume`
    // continues from it (fine-tuning on the config's data).
    io::save_checkpoint(out_dir + "/checkpoints/last", checkpoint);
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
  NABLA_CHECK(run.model.type == "gpt" || run.model.type == "bert", run_dir, ": model.type \"", run.model.type,
              "\" has no Hugging Face form; gpt runs export as GPT2LMHeadModel, bert runs as BERT");
  for (const char* file : {"config.json", "model.safetensors", "model.safetensors.index.json"})
    NABLA_CHECK(overwrite || !fs::exists(fs::path(out_dir) / file), out_dir, " already holds ", file,
                "; export into a new folder, or pass --overwrite to replace its files");
  NABLA_CHECK(!fs::exists(out_dir) || fs::is_directory(out_dir), out_dir, ": exists and is not a directory");

  const int64_t vocab = run.info.at("data_shape").at("vocab_size").get<int64_t>();
  const json base = run.info.contains("hf") ? run.info["hf"].value("config", json::object()) : json::object();
  const bool bert = run.model.type == "bert";
  const json config =
      bert ? interop::bert_hf_config(model, vocab, run.class_names, base) : interop::gpt2_hf_config(model, vocab, base);
  const auto state = run.model.module->state_dict();
  const auto weights = bert ? interop::bert_hf_weights(state) : interop::gpt2_hf_weights(state);
  const int64_t context =
      bert ? model.at("max_position_embeddings").get<int64_t>() : model.at("context").get<int64_t>();

  ExportResult result;
  result.architecture = config["architectures"][0].get<std::string>();
  fs::create_directories(out_dir);
  interop::write_hf_weights(out_dir, weights);
  if (run.tokenizer) {
    try {
      interop::write_hf_tokenizer(out_dir, *run.tokenizer, context);
      result.tokenizer_written = true;
    } catch (const Error& e) {
      result.tokenizer_note = e.what();
    }
  }
  json with_tokens = config;
  if (result.tokenizer_written)
    if (const auto* tok = run.tokenizer.get(); tok) {
      const json t = tok->to_json();
      if (t.contains("special") && t["special"].contains("<|endoftext|>"))
        with_tokens["bos_token_id"] = with_tokens["eos_token_id"] = t["special"]["<|endoftext|>"];
    }
  io::save_json(out_dir + "/config.json", with_tokens);  // last: a folder with config.json is complete
  return result;
}

}  // namespace nabla::runs
