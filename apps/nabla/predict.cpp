// nabla predict RUN_DIR INPUT...: images (PNG/PGM) for image classifiers, a text file (one example
// per line, "-" = stdin) for text classifiers, a CSV file (header + feature columns) for tabular
// models; for a BERT run, texts (or files of them): the fillers of each [MASK], or the label.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/data/csv.h"
#include "nabla/data/image_file.h"
#include "nabla/data/text_corpus.h"
#include "nabla/data/text_datasets.h"
#include "nabla/data/wordpiece_tokenizer.h"
#include "nabla/models/bert_tasks.h"
#include "nabla/ops/activation.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/shape_ops.h"
#include "nabla/runs/runs.h"

namespace nabla::cli {

namespace {

// One line per example: the predicted class and its probability, or the regression value.
void print_predictions(const runs::LoadedRun& run, const Tensor& scores, const std::vector<std::string>& names) {
  const bool binary = run.model.task == models::Task::binary, regression = run.model.task == models::Task::regression;
  Tensor probs = binary || regression ? scores.reshape({-1, 1}) : softmax(scores, 1);
  for (int64_t i = 0; i < probs.shape()[0]; ++i) {
    std::vector<float> p = probs.select(0, i).contiguous().to_vector<float>();
    std::cout << names[size_t(i)] << "\t";
    if (regression) {
      std::cout << p[0] << "\n";
      continue;
    }
    int64_t best = 0;
    double confidence = binary ? std::max(p[0], 1 - p[0]) : 0;
    if (binary) {
      best = p[0] >= 0.5f ? 1 : 0;
    } else {
      for (size_t c = 1; c < p.size(); ++c)
        if (p[c] > p[size_t(best)]) best = int64_t(c);
      confidence = p[size_t(best)];
    }
    const std::string label =
        size_t(best) < run.class_names.size() ? run.class_names[size_t(best)] : "class " + std::to_string(best);
    std::cout << label << "\t" << std::fixed << std::setprecision(4) << confidence << "\n";
  }
}

// A BERT's inputs are texts; an input naming a file (or "-") stands for its lines.
void predict_bert(runs::LoadedRun& run, const std::vector<std::string>& inputs) {
  auto& bert = dynamic_cast<models::Bert&>(*run.model.module);
  NABLA_CHECK(run.tokenizer, "a BERT run needs its tokenizer; this one has none");
  const auto* wordpiece = dynamic_cast<const data::WordPieceTokenizer*>(run.tokenizer.get());
  std::vector<std::string> texts;
  for (const std::string& input : inputs) {
    if (input == "-" || std::filesystem::is_regular_file(input)) {
      for (const std::string& line : data::read_text_lines(input)) texts.push_back(line);
    } else {
      texts.push_back(input);
    }
  }
  for (const std::string& text : texts) {
    std::cout << text << "\n";
    if (bert.config.head == "mlm") {
      for (const models::MaskFill& fill : models::fill_mask(bert, *run.tokenizer, text)) {
        std::cout << "  [MASK] at token " << fill.position << ":";
        for (const auto& [token, p] : fill.candidates)
          std::cout << "  " << token << " " << std::fixed << std::setprecision(4) << p;
        std::cout << "\n";
      }
    } else if (bert.config.head == "classifier") {
      NABLA_CHECK(wordpiece, "a BERT classifier run predicts with its WordPiece tokenizer; this one has ",
                  run.tokenizer->type());
      const std::vector<double> p = models::classify(bert, *wordpiece, text);
      const size_t best = size_t(std::max_element(p.begin(), p.end()) - p.begin());
      std::cout << "  " << (best < run.class_names.size() ? run.class_names[best] : "class " + std::to_string(best))
                << "\t" << std::fixed << std::setprecision(4) << p[best] << "  (";
      for (size_t c = 0; c < p.size(); ++c)
        std::cout << (c ? ", " : "") << (c < run.class_names.size() ? run.class_names[c] : std::to_string(c)) << " "
                  << p[c];
      std::cout << ")\n";
    } else {
      fail("this BERT has no head (BertModel): it gives hidden states, not predictions");
    }
  }
}

void run_predict(const std::string& run_dir, const std::vector<std::string>& inputs, int threads) {
  apply_threads(threads);
  runs::LoadedRun run = runs::load_run(run_dir);
  if (run.model.type == "bert") return predict_bert(run, inputs);
  NABLA_CHECK(run.model.task != models::Task::language_model, run_dir, " holds a language model (", run.model.type,
              "); use `nabla generate ", run_dir, " --prompt TEXT`");
  const io::json& shape = run.info["data_shape"];
  const std::vector<int64_t> input_shape = shape["input"].get<std::vector<int64_t>>();
  NoGradGuard no_grad;
  Tensor x;
  std::vector<std::string> names;
  if (input_shape.size() == 3) {  // images
    std::vector<Tensor> images;
    for (const std::string& path : inputs) {
      Tensor image = data::read_grayscale_image(path);
      NABLA_CHECK(image.shape() == Shape(input_shape), path, ": the model takes ", Shape(input_shape),
                  " grey images, this one is ", image.shape(), "; resize it first");
      images.push_back(image);
      names.push_back(path);
    }
    x = stack(images, 0);
    if (run.info.contains("normalization")) {  // data.standardize: as the training images were
      const io::json& n = run.info["normalization"];
      x = (x - n.at("mean").get<double>()) / n.at("std").get<double>();
    }
  } else if (run.tokenizer) {  // text classifier: one example per line
    std::vector<std::vector<int64_t>> sequences;
    for (const std::string& path : inputs) {
      std::vector<std::string> lines = data::read_text_lines(path);  // "-": standard input
      for (const std::string& line : lines) {
        sequences.push_back(run.tokenizer->encode(line));
        names.push_back(line.size() > 60 ? line.substr(0, 57) + "..." : line);
      }
    }
    const std::string padding = run.info["config"]["data"].value("padding", std::string("start"));
    x = data::pad_sequences(sequences, input_shape[0], 0,
                            padding == "start" ? data::Padding::start : data::Padding::end);
  } else {  // tabular: CSV rows of feature columns
    for (const std::string& path : inputs) {
      data::CsvData table = data::read_csv(path);
      NABLA_CHECK(table.x.shape()[1] == input_shape[0], path, ": has ", table.x.shape()[1],
                  " columns, the model takes ", input_shape[0], " features");
      for (int64_t i = 0; i < table.x.shape()[0]; ++i) names.push_back(path + ":" + std::to_string(i + 2));
      x = x.defined() ? cat({x, table.x}, 0) : table.x;
    }
  }
  print_predictions(run, run.model.module->forward(x), names);
}

}  // namespace

void add_predict(CLI::App& app) {
  auto run_dir = std::make_shared<std::string>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto threads = std::make_shared<int>(0);
  CLI::App* cmd = app.add_subcommand("predict", "run a trained classifier or regressor on new inputs");
  cmd->add_option("run_dir", *run_dir, "the run directory written by `nabla train`")->required();
  cmd->add_option("inputs", *inputs,
                  "PNG/PGM images, a text file of lines (- for stdin), or a CSV file; for BERT, texts with [MASK]")
      ->required();
  add_threads_option(*cmd, *threads);
  cmd->callback([=] { run_action([&] { run_predict(*run_dir, *inputs, *threads); }); });
}

}  // namespace nabla::cli
