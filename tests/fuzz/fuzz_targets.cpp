#include "fuzz_targets.h"

#include <unistd.h>
#include <zlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "nabla/data/byte_level_bpe_tokenizer.h"
#include "nabla/data/csv.h"
#include "nabla/data/idx.h"
#include "nabla/data/image_file.h"
#include "nabla/data/input_file.h"
#include "nabla/data/text_corpus.h"
#include "nabla/data/tokenizer.h"
#include "nabla/data/utf8.h"
#include "nabla/data/wordpiece_tokenizer.h"
#include "nabla/io/checkpoint.h"
#include "nabla/io/config.h"
#include "nabla/io/safetensors.h"
#include "nabla/models/classifiers.h"
#include "nabla/models/registry.h"
#include "nabla/train/model.h"

namespace nabla::fuzz {
namespace {

namespace fs = std::filesystem;

// A scratch directory of this process (the parsers read files, as users' inputs arrive).
const fs::path& scratch() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("nabla_fuzz_" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::string write(const std::string& name, const uint8_t* data, size_t size) {
  const fs::path path = scratch() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path.string();
}

// Runs one step of a target whose later steps should run even when this one refuses the input.
template <typename F>
void attempt(F step) {
  try {
    step();
  } catch (const Error&) {
  }
}

std::string text_of(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

// Splits the input at "\n--\n" into up to `parts` pieces (missing ones are empty).
std::vector<std::string> split(const uint8_t* data, size_t size, size_t parts) {
  std::vector<std::string> out;
  std::string rest = text_of(data, size);
  while (out.size() + 1 < parts) {
    const size_t at = rest.find("\n--\n");
    if (at == std::string::npos) break;
    out.push_back(rest.substr(0, at));
    rest = rest.substr(at + 4);
  }
  out.push_back(rest);
  out.resize(parts);
  return out;
}

void safetensors(const uint8_t* data, size_t size) { io::load_safetensors(write("x.safetensors", data, size)); }

// A checkpoint directory whose files are the input's parts; the checksums in state.json are made
// to match, so the loader gets past them into the files themselves.
void checkpoint(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = split(data, size, 4);
  const fs::path dir = scratch() / "ckpt";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const char* names[] = {"config.json", "model.safetensors", "optimizer.safetensors"};
  nlohmann::json state = nlohmann::json::object();
  attempt([&] { state = data::parse_json(parts[0], "state.json"); });  // bounded nesting: dump() recurses
  if (!state.is_object()) state = nlohmann::json::object();
  if (!state["files"].is_object()) state["files"] = nlohmann::json::object();
  for (int i = 0; i < 3; ++i) {
    const std::string& bytes = parts[size_t(i) + 1];
    std::ofstream(dir / names[i], std::ios::binary) << bytes;
    state["files"][names[i]] = {{"crc32", crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), uInt(bytes.size()))},
                                {"bytes", bytes.size()}};
  }
  std::ofstream(dir / "state.json") << state.dump();
  io::load_checkpoint(dir.string());
  // And into a compiled model, as `nabla train --resume` does: names, shapes, optimizer state, RNG,
  // epoch progress. The seeds hold this MLP's weights and Adam state.
  train::Model model(models::make_mlp(3, {2}, 2, 0.0));
  model.compile("adam", "sparse_categorical_crossentropy");
  model.load(dir.string());
}

// A run config: parsed as `nabla train` reads it, then its model built for a small data shape.
void config(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const std::string path = write("config.json", data + 1, size - 1);
  nlohmann::json config = io::read_json_file(path);
  models::DataShape shape;
  if (data[0] % 2) {
    shape = {{1, 28, 28}, DType::f32, 10, 0};
  } else {
    shape = {{32}, DType::i64, 0, 60};
  }
  io::ConfigReader root(config);
  io::ConfigReader model = root.object("model");
  models::build_model(model, shape, /*max_parameters=*/20'000'000);  // a fuzz input need not wait on a huge model
}

// `--set key.path=value` arguments, applied in turn to an empty config.
void set_override(const uint8_t* data, size_t size) {
  nlohmann::json config = nlohmann::json::object();
  for (const std::string& assignment : split(data, size, 8))
    if (!assignment.empty()) io::apply_override(config, assignment);
}

void idx(const uint8_t* data, size_t size) {
  // Plain, and gzip-compressed as Debian ships Fashion-MNIST.
  attempt([&] { data::read_idx(write("x-idx3-ubyte", data, size)); });
  const std::string gz = (scratch() / "x-idx3-ubyte.gz").string();
  gzFile out = gzopen(gz.c_str(), "wb");
  gzwrite(out, data, unsigned(size));
  gzclose(out);
  data::read_idx(gz);
}

void csv(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const std::string path = write("x.csv", data + 1, size - 1);
  data::CsvOptions options;
  if (data[0] % 3 == 1) options.label_column = "label";
  if (data[0] % 3 == 2) options.label_column = "y";
  data::read_csv(path, options);
}

void text(const uint8_t* data, size_t size) {
  const std::string path = write("x.txt", data, size);
  attempt([&] { data::read_text_file(path); });
  attempt([&] { data::read_text_lines(path); });
  data::load_kjv(path);
}

// A saved tokenizer (the "tokenizer" entry of a run's config.json), then a text through it and back.
void tokenizer(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = split(data, size, 2);
  // As config.json's reader gives it: valid JSON of bounded nesting, or an error first.
  const nlohmann::json saved = data::parse_json(parts[0], "tokenizer");
  std::unique_ptr<data::Tokenizer> t = data::make_tokenizer(saved);
  std::vector<int64_t> ids = t->encode(parts[1]);
  t->decode(ids);
  for (uint8_t b : parts[1]) ids.push_back(int64_t(int8_t(b)) * 1000);  // ids the tokenizer never made
  t->decode(ids);
}

// The tiny GPT-2 and BERT tokenizers of tests/golden/pretrained, made by Hugging Face tokenizers.
const std::string& golden_dir() {
  static const std::string dir = std::string(NABLA_SOURCE_DIR) + "/tests/golden/pretrained/";
  return dir;
}

bool valid_utf8(const std::string& text) {
  try {
    data::validate_utf8(text, "input");
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Any text through GPT-2's byte-level BPE: valid UTF-8 must come back byte for byte; ids it never
// made decode without crashing.
void byte_level_bpe(const uint8_t* data, size_t size) {
  static const auto tok = data::ByteLevelBPETokenizer::from_tokenizer_json(golden_dir() + "gpt2_tiny/tokenizer.json");
  const std::string text = text_of(data, size);
  if (!valid_utf8(text)) {
    tok.encode(text);  // refused with an error naming the byte
    return;
  }
  std::vector<int64_t> ids = tok.encode(text);
  if (tok.decode(ids) != text) throw std::logic_error("byte-level BPE did not round-trip its input");
  for (uint8_t b : text) ids.push_back(int64_t(b) * 3);
  tok.decode(ids);
}

// Any text, and pairs, through BERT's WordPiece; ids decode back to some text.
void wordpiece(const uint8_t* data, size_t size) {
  static const auto tok = data::WordPieceTokenizer::from_tokenizer_json(golden_dir() + "bert_tiny/tokenizer.json");
  const std::vector<std::string> parts = split(data, size, 2);
  if (!valid_utf8(parts[0]) || !valid_utf8(parts[1])) {
    tok.encode(parts[0] + parts[1]);
    return;
  }
  const auto encoding = tok.encode_for_model(parts[0], parts[1]);
  if (encoding.ids.size() != encoding.token_types.size())
    throw std::logic_error("ids and token types differ in length");
  tok.decode(encoding.ids);
  tok.normalize(parts[0]);
}

// A Hugging Face tokenizer.json (either kind), then a text through it.
void hf_tokenizer_json(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = split(data, size, 2);
  const std::string path = write("tokenizer.json", reinterpret_cast<const uint8_t*>(parts[0].data()), parts[0].size());
  const nlohmann::json file = data::read_json_input(path, "tokenizer.json");
  const bool wordpiece = file.is_object() && file.contains("model") && file["model"].is_object() &&
                         file["model"].value("type", nlohmann::json("")) == "WordPiece";
  std::unique_ptr<data::Tokenizer> t;
  if (wordpiece)
    t = std::make_unique<data::WordPieceTokenizer>(data::WordPieceTokenizer::from_tokenizer_json(path));
  else
    t = std::make_unique<data::ByteLevelBPETokenizer>(data::ByteLevelBPETokenizer::from_tokenizer_json(path));
  t->decode(t->encode(parts[1]));
}

// The `nabla` command line: arguments (one per line of the input) parsed by the real app with every
// command's action switched off, so what is fuzzed is the options, their types and their checks.
void command_line(const uint8_t* data, size_t size) {
  std::vector<std::string> args;
  std::string rest = text_of(data, size);
  for (size_t at; args.size() < 32 && (at = rest.find('\n')) != std::string::npos; rest = rest.substr(at + 1))
    args.push_back(rest.substr(0, at));
  if (args.size() < 32) args.push_back(rest);
  CLI::App app;
  cli::build_app(app);
  cli::set_actions_enabled(false);
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector of arguments last first
  try {
    app.parse(args);
  } catch (const CLI::Error&) {
    // refused with CLI11's message: `nabla` prints it and exits
  }
}

void image(const uint8_t* data, size_t size) {
  if (size == 0) return;
  data::read_grayscale_image(write(data[0] % 2 ? "x.png" : "x.pgm", data + 1, size - 1));
}

}  // namespace

const std::vector<NamedTarget>& targets() {
  static const std::vector<NamedTarget> all = {{"safetensors", safetensors},
                                               {"checkpoint", checkpoint},
                                               {"config", config},
                                               {"set_override", set_override},
                                               {"idx", idx},
                                               {"csv", csv},
                                               {"text", text},
                                               {"tokenizer", tokenizer},
                                               {"byte_level_bpe", byte_level_bpe},
                                               {"wordpiece", wordpiece},
                                               {"hf_tokenizer_json", hf_tokenizer_json},
                                               {"image", image},
                                               {"command_line", command_line}};
  return all;
}

void run_one(Target target, const uint8_t* data, size_t size) {
  try {
    target(data, size);
  } catch (const Error&) {
    // refused with a message: what bad input should get
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: an exception other than nabla::Error escaped: %s\n", e.what());
    std::abort();
  }
}

}  // namespace nabla::fuzz
