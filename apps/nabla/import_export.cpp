// nabla import HF_DIR --out RUN and nabla export RUN --format hf --out DIR: Hugging Face folders
// to runs and back.
#include <iostream>

#include "commands.h"
#include "nabla/core/error.h"
#include "nabla/runs/runs.h"

namespace nabla::cli {

void add_import(CLI::App& app) {
  auto hf_dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  CLI::App* cmd =
      app.add_subcommand("import", "turn a Hugging Face model folder (GPT-2, BERT) into a nabla run directory");
  cmd->add_option("hf_dir", *hf_dir, "the folder: config.json, model.safetensors (or shards), tokenizer files")
      ->required();
  cmd->add_option("--out", *out, "the run directory to write")->required();
  cmd->add_flag("--overwrite", *overwrite, "move a run already in --out aside (to DIR.replaced-N) first");
  cmd->callback([hf_dir, out, overwrite] {
    run_action([&] {
      const runs::ImportResult r = runs::import_hf(*hf_dir, *out, *overwrite);
      if (!r.replaced_run.empty())
        std::cout << "moved the run that was in " << *out << " to " << r.replaced_run << "\n";
      std::cout << "imported " << r.architecture << " (" << r.parameters << " parameters, vocabulary " << r.vocab_size
                << ", context " << r.context << ", " << r.tokenizer << " tokenizer) into " << *out << "\n";
      for (const std::string& note : r.notes) std::cout << "  " << note << "\n";
      if (r.architecture.starts_with("GPT2"))
        std::cout << "  nabla generate " << *out << " --prompt \"And God said\"\n";
      else if (r.architecture == "BertForSequenceClassification")
        std::cout << "  nabla predict " << *out << " \"Jesus wept.\"\n";
      else if (r.architecture != "BertModel")
        std::cout << "  nabla predict " << *out << " \"And God said, Let there be [MASK].\"\n";
    });
  });
}

void add_export(CLI::App& app) {
  auto run_dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("hf");
  auto overwrite = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("export", "write a run as a Hugging Face model folder");
  cmd->add_option("run_dir", *run_dir, "the run directory")->required();
  cmd->add_option("--format", *format, "hf: a folder transformers' from_pretrained loads")
      ->check(CLI::IsMember({"hf"}));
  cmd->add_option("--out", *out, "the folder to write")->required();
  cmd->add_flag("--overwrite", *overwrite, "replace the model files already in --out");
  // Every option's storage is captured: CLI11 writes into it while parsing, after this returns.
  cmd->callback([run_dir, out, format, overwrite] {
    run_action([&] {
      NABLA_CHECK(*format == "hf", "export: unknown --format ", *format, "; use hf");
      const runs::ExportResult r = runs::export_hf(*run_dir, *out, *overwrite);
      std::cout << "exported " << *run_dir << " as " << r.architecture << " to " << *out << "\n";
      if (!r.tokenizer_written)
        std::cout << "  without tokenizer files: " << (r.tokenizer_note.empty() ? "the run has none" : r.tokenizer_note)
                  << "\n";
    });
  });
}

}  // namespace nabla::cli
