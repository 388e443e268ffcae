#include "nabla/runs/task_data.h"

#include <algorithm>
#include <cmath>

#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/data/char_tokenizer.h"
#include "nabla/data/csv.h"
#include "nabla/data/idx.h"
#include "nabla/data/masked_lm.h"
#include "nabla/data/sentencepiece_tokenizer.h"
#include "nabla/data/split.h"
#include "nabla/data/text_corpus.h"
#include "nabla/data/text_datasets.h"
#include "nabla/data/transforms.h"
#include "nabla/data/word_tokenizer.h"
#include "nabla/ops/elementwise.h"
#include "nabla/ops/reduce.h"
#include "nabla/ops/shape_ops.h"
#include "nabla/runs/config_limits.h"

namespace nabla::runs {

using models::DataShape;

using data::Dataset;
using data::TensorDataset;

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"fashion_mnist", "kjv_testament", "kjv_lm", "text_lm",
                                                 "kjv_mlm",       "text_mlm",      "csv",    "inline"};
  return names;
}

namespace {

// The last `fraction` of a dataset as validation (Keras' validation_split), the rest as training.
void hold_out(TaskData& out, std::shared_ptr<const Dataset> all, double fraction) {
  const int64_t n = all->size(), held = n - data::keras_training_count(n, fraction);
  NABLA_CHECK(n - held > 0, "data.validation_split ", fraction, " leaves no training examples of ", n);
  out.train = held > 0 ? std::make_shared<data::Subset>(all, 0, n - held) : all;
  if (held > 0) out.validation = std::make_shared<data::Subset>(all, n - held, held);
}

// Rows of x / y picked by sample indices.
std::shared_ptr<const Dataset> pick(const Tensor& x, const Tensor& y, const std::vector<int64_t>& rows) {
  Tensor index = tensor_i64(rows, {int64_t(rows.size())});
  return std::make_shared<TensorDataset>(index_select(x, 0, index), index_select(y, 0, index));
}

std::shared_ptr<const data::Tokenizer> build_tokenizer(io::ConfigReader cfg, const std::vector<std::string>& texts,
                                                       bool pad, int64_t default_vocab) {
  const std::string type = cfg.string("type", "word", {"char", "word", "sentencepiece"});
  std::shared_ptr<const data::Tokenizer> result;
  if (type == "char") {
    std::string corpus;
    for (const std::string& t : texts) corpus += t + "\n";
    result = std::make_shared<data::CharTokenizer>(data::CharTokenizer::from_corpus(corpus, cfg.boolean("unk", true)));
  } else if (type == "word") {
    data::WordTokenizerOptions o;
    o.lowercase = cfg.boolean("lowercase", true);
    o.split_punctuation = cfg.boolean("split_punctuation", true);
    // "letters": the articles' cleaning, letters only and lower case.
    o.letters_only = cfg.string("clean", "none", {"none", "letters"}) == "letters";
    o.max_vocab = cfg.integer("vocab_size", default_vocab, 0, kMaxVocab);
    o.min_count = cfg.integer("min_count", 1, 1, kMaxCount);
    o.pad = pad;
    result = std::make_shared<data::WordTokenizer>(data::WordTokenizer::from_corpus(texts, o));
  } else {
    data::SentencePieceOptions o;
    o.vocab_size = cfg.integer("vocab_size", default_vocab > 0 ? default_vocab : 2000, 16, kMaxVocab);
    o.model_type = cfg.string("model_type", "bpe", {"bpe", "unigram"});
    o.max_sentences = cfg.integer("max_sentences", 0, 0, kMaxCount);
    o.bert_special_tokens = cfg.boolean("special_tokens", false);
    result = std::make_shared<data::SentencePieceTokenizer>(data::SentencePieceTokenizer::train(texts, o));
  }
  cfg.finish();
  return result;
}

std::vector<std::string> verse_texts(const std::vector<data::Verse>& verses, const std::vector<int64_t>& rows) {
  std::vector<std::string> texts;
  texts.reserve(rows.size());
  for (int64_t r : rows) texts.push_back(verses[size_t(r)].text);
  return texts;
}

// Verses (or lines) in a seeded random order cut into train / validation / test.
// "random" (default): a seeded random order; "last": in order, validation and test the last
// fractions, as Keras' validation_split takes the last part of the data.
std::vector<std::vector<int64_t>> split_units(io::ConfigReader& d, int64_t n, uint64_t seed) {
  const double val = d.number("validation_fraction", 0.1, 0, 0.9), test = d.number("test_fraction", 0.1, 0, 0.9);
  NABLA_CHECK(val + test < 1, d.key_path("validation_fraction"), " + test_fraction must be below 1, got ", val + test);
  std::vector<std::vector<int64_t>> parts;
  if (d.string("split", "random", {"random", "last"}) == "last") {
    const int64_t n_train = data::keras_training_count(n, val + test), n_test = int64_t(double(n) * test),
                  n_val = n - n_train - n_test;
    parts.resize(3);
    for (int64_t i = 0; i < n; ++i) parts[i < n_train ? 0 : i < n_train + n_val ? 1 : 2].push_back(i);
  } else {
    parts = data::split_indices(n, {1 - val - test, val, test}, seed);
  }
  NABLA_CHECK(!parts[0].empty(), d.key_path("dataset"), ": no training examples left after the split of ", n);
  return parts;
}

void load_fashion(TaskData& out, io::ConfigReader& d) {
  const std::string dir = d.string("dir", data::default_fashion_mnist_dir());
  const int64_t limit = d.integer("limit", 0, 0, kMaxCount), test_limit = d.integer("test_limit", 0, 0, kMaxCount);
  const double validation = d.number("validation_split", 0.1, 0, 0.9);
  data::FashionMnist train = data::load_fashion_mnist("train", dir, limit);
  data::FashionMnist test = data::load_fashion_mnist("test", dir, test_limit);
  Tensor train_images = train.images, test_images = test.images;
  // Zero mean and unit variance over all training images, validation part included, as the Keras
  // programs standardise x_train before fit's validation_split.
  if (d.boolean("standardize", false)) {
    const double mean = nabla::mean(train_images).item(), std = std::sqrt(nabla::var(train_images, {}, 0).item());
    NABLA_CHECK(std > 0, d.key_path("standardize"), ": the training images are all one value (", mean,
                "), so there is no spread to scale by");
    out.input_mean = mean;
    out.input_std = std;
    train_images = (train_images - mean) / std;
    test_images = (test_images - mean) / std;
  }
  io::ConfigReader augment = d.object("augment");
  if (const int64_t padding = augment.integer("crop_padding", 0, 0, 14); padding > 0)  // borders stay black
    out.train_transforms.push_back(
        data::random_crop(padding, out.input_mean ? float(-*out.input_mean / *out.input_std) : 0.0f));
  if (augment.boolean("flip", false)) out.train_transforms.push_back(data::random_horizontal_flip());
  augment.finish();
  hold_out(out, std::make_shared<TensorDataset>(train_images, train.labels), validation);
  out.test = std::make_shared<TensorDataset>(test_images, test.labels);
  out.shape = DataShape{{1, 28, 28}, DType::f32, 10, 0};
  out.class_names.assign(std::begin(data::kFashionMnistClasses), std::end(data::kFashionMnistClasses));
}

std::vector<data::Verse> kjv_verses(io::ConfigReader& d) {
  std::vector<data::Verse> verses = data::load_kjv(d.string("path", data::default_kjv_path()));
  const int64_t limit = d.integer("limit", 0, 0, kMaxCount);
  if (limit > 0 && limit < int64_t(verses.size())) {  // an evenly spread sample keeps both testaments
    std::vector<data::Verse> sample;
    for (int64_t i = 0; i < limit; ++i) sample.push_back(verses[size_t(i * int64_t(verses.size()) / limit)]);
    verses = std::move(sample);
  }
  return verses;
}

void load_testament(TaskData& out, io::ConfigReader& d, uint64_t seed) {
  std::vector<data::Verse> verses = kjv_verses(d);
  const int64_t max_length = d.integer("max_length", 100, 1, kMaxSequence);
  const bool pad_start = d.string("padding", "start", {"start", "end"}) == "start";
  auto parts = split_units(d, int64_t(verses.size()), seed);
  if (!out.tokenizer)
    out.tokenizer = build_tokenizer(d.object("tokenizer"), verse_texts(verses, parts[0]), true, 10000);
  else
    d.object("tokenizer");  // the saved tokenizer wins; its config keys are still known
  auto make = [&](const std::vector<int64_t>& rows) -> std::shared_ptr<const Dataset> {
    if (rows.empty()) return nullptr;
    std::vector<std::vector<int64_t>> sequences;
    std::vector<float> labels;
    for (int64_t r : rows) {
      sequences.push_back(out.tokenizer->encode(verses[size_t(r)].text));
      labels.push_back(float(verses[size_t(r)].testament));
    }
    return std::make_shared<data::SequenceClassificationDataset>(sequences, tensor(labels, {int64_t(labels.size()), 1}),
                                                                 max_length, 0,
                                                                 pad_start ? data::Padding::start : data::Padding::end);
  };
  out.train = make(parts[0]);
  out.validation = make(parts[1]);
  out.test = make(parts[2]);
  out.shape = DataShape{{max_length}, DType::i64, 2, out.tokenizer->vocab_size()};
  out.class_names = {"Old Testament", "New Testament"};
}

// Next-token windows (a language model), or with `masked` [CLS] ... [SEP] windows for masked-LM
// pretraining: training batches are masked anew each time (a transform), validation and test once,
// with a fixed generator, so every evaluation scores the same masks.
void load_language_model(TaskData& out, io::ConfigReader& d, uint64_t seed, bool kjv, bool masked) {
  std::vector<std::string> units;  // verses or lines, the unit of the split
  if (kjv) {
    for (const data::Verse& v : kjv_verses(d)) units.push_back(v.text);
  } else {
    units = data::read_text_lines(d.string("path", std::nullopt));
  }
  const int64_t seq_len = d.integer("seq_len", 128, 1, kMaxSequence), stride = d.integer("stride", 0, 0, kMaxSequence);
  auto parts = split_units(d, int64_t(units.size()), seed);
  std::vector<std::string> train_texts;
  for (int64_t r : parts[0]) train_texts.push_back(units[size_t(r)]);
  if (!out.tokenizer)
    out.tokenizer = build_tokenizer(d.object("tokenizer"), train_texts, false, 10000);
  else
    d.object("tokenizer");
  // Units are joined by newlines; SentencePiece pieces never contain one (it trains on lines),
  // so subword streams join units with a space instead.
  const std::string separator = out.tokenizer->type() == "sentencepiece" ? " " : "\n";
  data::MaskingOptions masking;
  if (masked) {
    masking.probability = d.number("mask_probability", 0.15, 0, 1, true);
    masking.tokens = data::masked_lm_tokens(*out.tokenizer);
    masking.vocab_size = out.tokenizer->vocab_size();
  }
  Generator evaluation_masks(seed ^ 0x6d61736b);
  auto make = [&](const std::vector<int64_t>& rows, int64_t step) -> std::shared_ptr<const Dataset> {
    std::vector<int64_t> stream;
    for (int64_t r : rows) {
      std::vector<int64_t> ids = out.tokenizer->encode(units[size_t(r)] + separator);
      stream.insert(stream.end(), ids.begin(), ids.end());
    }
    if (int64_t(stream.size()) <= seq_len) return nullptr;
    if (!masked) return std::make_shared<data::LanguageModelDataset>(stream, seq_len, step);
    const Tensor windows = data::masked_lm_windows(stream, seq_len, masking.tokens);
    if (step < 0) return std::make_shared<TensorDataset>(windows, windows);  // masked per batch
    auto [inputs, labels] = data::mask_tokens(windows, masking, evaluation_masks);
    return std::make_shared<TensorDataset>(inputs, labels);
  };
  out.train = make(parts[0], masked ? -1 : stride);
  if (masked) out.train_transforms.push_back(data::masked_lm(masking));
  NABLA_CHECK(out.train, d.key_path("seq_len"), ": the training text is shorter than one window of ", seq_len,
              " tokens; use a longer corpus or a shorter seq_len");
  out.validation = make(parts[1], 0);
  out.test = make(parts[2], 0);
  out.shape = DataShape{{seq_len}, DType::i64, 0, out.tokenizer->vocab_size()};
  out.prompt = kjv ? "And God said" : units[size_t(parts[0][0])].substr(0, 16);
}

void load_csv(TaskData& out, io::ConfigReader& d, uint64_t seed) {
  data::CsvOptions options;
  const std::string path = d.string("path", std::nullopt);
  options.label_column = d.string("label", std::nullopt);
  const std::string task = d.string("task", "classification", {"classification", "regression"});
  options.labels = task == "classification" ? data::CsvLabels::classes : data::CsvLabels::values;
  data::CsvData table = data::read_csv(path, options);
  auto parts = split_units(d, table.x.shape()[0], seed);
  Tensor y = task == "regression" ? table.y.reshape({-1, 1}) : table.y;
  out.train = pick(table.x, y, parts[0]);
  if (!parts[1].empty()) out.validation = pick(table.x, y, parts[1]);
  if (!parts[2].empty()) out.test = pick(table.x, y, parts[2]);
  int64_t classes = 0;
  if (task == "classification") {
    classes = int64_t(max(table.y.to(DType::f32)).item()) + 1;
    out.class_names = table.class_names;
  }
  out.shape = DataShape{{table.x.shape()[1]}, DType::f32, classes, 0};
}

// A small data set written in the config itself, as the articles' first programs hold theirs:
// rows of numbers x, targets y (regression values, or class ids), optionally the last
// validation_split of them held out (as Keras), and inputs to predict after training.
void load_inline(TaskData& out, io::ConfigReader& d) {
  const std::vector<std::vector<double>> x = d.number_rows("x", std::nullopt);
  const std::vector<double> y = d.numbers("y", std::nullopt);
  const bool classes = d.string("task", "regression", {"regression", "classification"}) == "classification";
  NABLA_CHECK(y.size() == x.size(), d.key_path("y"), ": ", y.size(), " targets for ", x.size(), " rows of x");
  const int64_t n = int64_t(x.size()), features = int64_t(x[0].size());
  std::vector<float> flat;
  for (const auto& row : x) flat.insert(flat.end(), row.begin(), row.end());
  Tensor targets;
  int64_t num_classes = 0;
  if (classes) {
    std::vector<int64_t> ids;
    for (double v : y) {
      NABLA_CHECK(v >= 0 && v < 1 << 20 && v == std::floor(v), d.key_path("y"), ": class ", v,
                  " is not a class id (0, 1, 2, ...)");
      ids.push_back(int64_t(v));
      num_classes = std::max(num_classes, int64_t(v) + 1);
    }
    targets = tensor_i64(ids, {n});
  } else {
    targets = tensor(std::vector<float>(y.begin(), y.end()), {n, 1});
  }
  hold_out(out, std::make_shared<TensorDataset>(tensor(flat, {n, features}), targets),
           d.number("validation_split", 0.0, 0, 0.9));
  const std::vector<std::vector<double>> predict = d.number_rows("predict", std::vector<std::vector<double>>{});
  if (!predict.empty()) {
    NABLA_CHECK(int64_t(predict[0].size()) == features, d.key_path("predict"), ": rows of ", predict[0].size(),
                " numbers, but x has ", features, " features");
    std::vector<float> p;
    for (const auto& row : predict) p.insert(p.end(), row.begin(), row.end());
    out.predict_inputs = tensor(p, {int64_t(predict.size()), features});
  }
  out.shape = DataShape{{features}, DType::f32, num_classes, 0};
}

}  // namespace

TaskData load_task_data(io::ConfigReader& d, uint64_t seed, std::shared_ptr<const data::Tokenizer> tokenizer) {
  TaskData out;
  out.tokenizer = std::move(tokenizer);
  const std::string name = d.string("dataset", std::nullopt, dataset_names());
  if (name == "fashion_mnist")
    load_fashion(out, d);
  else if (name == "kjv_testament")
    load_testament(out, d, seed);
  else if (name == "kjv_lm" || name == "text_lm" || name == "kjv_mlm" || name == "text_mlm")
    load_language_model(out, d, seed, name.starts_with("kjv"), name.ends_with("_mlm"));
  else if (name == "csv")
    load_csv(out, d, seed);
  else
    load_inline(out, d);
  d.finish();
  return out;
}

std::string loss_for(models::Task task) {
  switch (task) {
    case models::Task::binary: return "binary_crossentropy";
    case models::Task::regression: return "mse";
    default: return "sparse_categorical_crossentropy";
  }
}

std::vector<std::string> metrics_for(models::Task task) {
  return task == models::Task::regression ? std::vector<std::string>{} : std::vector<std::string>{"accuracy"};
}

}  // namespace nabla::runs
