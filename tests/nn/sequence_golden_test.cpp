// Checks RNN, LSTM, GRU, MultiheadAttention and TransformerBlock against PyTorch: each golden file
// (written by tests/golden/nn_sequence/make_golden.py, format described there) holds a PyTorch
// state dict, which is loaded unchanged, the inputs, the outputs and the gradients of the inputs
// and of every parameter for a random upstream gradient.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "nabla/kernels/rnn_onednn.h"
#include "nabla/nabla.h"

#ifndef NABLA_SOURCE_DIR
#error "NABLA_SOURCE_DIR must name the repository root (set it in CMake)"
#endif

namespace nabla {
namespace {

using json = nlohmann::json;
using TensorMap = std::map<std::string, Tensor>;

std::string golden_dir() { return std::string(NABLA_SOURCE_DIR) + "/tests/golden/nn_sequence"; }

std::vector<std::string> golden_cases() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir()))
    if (entry.path().extension() == ".safetensors") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The entries under "<prefix>." with the prefix stripped.
TensorMap with_prefix(const TensorMap& all, const std::string& prefix) {
  TensorMap out;
  for (const auto& [key, t] : all)
    if (key.rfind(prefix + ".", 0) == 0) out[key.substr(prefix.size() + 1)] = t;
  return out;
}

struct Tolerance {
  double rtol, atol;
};

// |actual - expected| <= atol * max|expected| + rtol * |expected| elementwise: atol is relative to
// the tensor's scale, because sums over steps and batch give errors proportional to it.
::testing::AssertionResult close(const std::string& what, const Tensor& actual, const Tensor& expected, Tolerance tol,
                                 std::ostringstream& report) {
  if (!(actual.shape() == expected.shape()))
    return ::testing::AssertionFailure() << what << ": shape " << actual.shape() << ", expected " << expected.shape();
  std::vector<float> a = actual.contiguous().to_vector<float>(), e = expected.to_vector<float>();
  double scale = 0;
  for (float v : e) scale = std::max(scale, double(std::fabs(v)));
  double max_abs = 0, max_rel = 0;
  size_t bad = 0, worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::fabs(double(a[i]) - e[i]);
    if (std::isnan(diff) || diff > tol.atol * scale + tol.rtol * std::fabs(e[i])) {
      if (bad++ == 0) worst = i;
    }
    max_abs = std::max(max_abs, diff);
    if (std::fabs(e[i]) > 1e-3 * scale) max_rel = std::max(max_rel, diff / std::fabs(e[i]));
  }
  report << "  " << std::left << std::setw(34) << what << std::scientific << std::setprecision(2) << " max abs "
         << max_abs << "  max rel " << max_rel << "  (scale " << scale << ")\n";
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << bad << " of " << a.size() << " elements differ (rtol "
                                       << tol.rtol << ", atol " << tol.atol << " x scale " << scale << "); first at "
                                       << worst << ": " << a[worst] << " vs " << e[worst] << "; max abs " << max_abs;
}

struct Built {
  std::shared_ptr<nn::Module> module;
  std::function<TensorMap(const TensorMap& inputs)> run;
};

Built build(const std::string& kind, const json& config, const json& call) {
  if (kind == "RNN" || kind == "LSTM" || kind == "GRU") {
    nn::RecurrentOptions options;
    options.num_layers = config.value("num_layers", 1);
    options.bias = config.value("bias", true);
    options.batch_first = config.value("batch_first", false);
    options.bidirectional = config.value("bidirectional", false);
    options.nonlinearity = config.value("nonlinearity", std::string("tanh"));
    const int64_t in = config.at("input_size").get<int64_t>(), hidden = config.at("hidden_size").get<int64_t>();
    std::shared_ptr<nn::RecurrentBase> m;
    if (kind == "RNN") m = std::make_shared<nn::RNN>(in, hidden, options);
    if (kind == "LSTM") m = std::make_shared<nn::LSTM>(in, hidden, options);
    if (kind == "GRU") m = std::make_shared<nn::GRU>(in, hidden, options);
    return {m, [m](const TensorMap& in) {
              auto get = [&](const char* k) { return in.count(k) ? in.at(k) : Tensor(); };
              nn::RecurrentOutput r = m->forward(in.at("x"), get("h0"), get("c0"));
              TensorMap out{{"output", r.output}, {"h_n", r.h_n}};
              if (r.c_n.defined()) out["c_n"] = r.c_n;
              return out;
            }};
  }
  if (kind == "MultiheadAttention") {
    auto m = std::make_shared<nn::MultiheadAttention>(config.at("embed_dim").get<int64_t>(),
                                                      config.at("num_heads").get<int64_t>(), 0.0,
                                                      config.value("bias", true), config.value("batch_first", false));
    const bool self = call.value("self", false), key_is_value = call.value("key_is_value", false),
               causal = call.value("is_causal", false);
    return {m, [=](const TensorMap& in) {
              auto get = [&](const char* k) { return in.count(k) ? in.at(k) : Tensor(); };
              Tensor q = in.at("query");
              Tensor k = self ? q : in.at("key");
              Tensor v = self ? q : key_is_value ? k : in.at("value");
              return TensorMap{{"output", m->forward(q, k, v, get("key_padding_mask"), get("attn_mask"), causal)}};
            }};
  }
  if (kind == "TransformerBlock") {
    auto m = std::make_shared<nn::TransformerBlock>(config.at("embed_dim").get<int64_t>(),
                                                    config.at("num_heads").get<int64_t>(),
                                                    config.value("mlp_ratio", 4.0), 0.0, config.value("causal", true));
    return {
        m, [m](const TensorMap& in) {
          return TensorMap{
              {"output", m->forward(in.at("x"), in.count("key_padding_mask") ? in.at("key_padding_mask") : Tensor())}};
        }};
  }
  fail("golden file names an unknown module \"", kind, "\"");
}

// Measured: every output and gradient is within 3.5e-7 x its tensor's scale of the float64
// reference, 64-step sequences included; elements far below the scale are covered by atol.
constexpr Tolerance kTolerance{1e-5, 1e-6};

void check_against_golden(const std::string& name) {
  io::SafetensorsFile file = io::load_safetensors(golden_dir() + "/" + name + ".safetensors");
  const std::string kind = file.metadata.at("module");
  Built built = build(kind, json::parse(file.metadata.at("config")), json::parse(file.metadata.at("call")));
  built.module->load_state_dict(with_prefix(file.tensors, "param"));

  const TensorMap expected_grad_inputs = with_prefix(file.tensors, "grad_input");
  TensorMap inputs;
  for (auto& [key, t] : with_prefix(file.tensors, "input")) {
    Tensor leaf = t.clone();
    if (expected_grad_inputs.count(key)) leaf.requires_grad_();
    inputs[key] = leaf;
  }
  TensorMap outputs = built.run(inputs);

  std::ostringstream report;
  report << name << " (" << kind << ")\n";
  const TensorMap expected_outputs = with_prefix(file.tensors, "output");
  const TensorMap grad_outputs = with_prefix(file.tensors, "grad_output");
  ASSERT_EQ(outputs.size(), expected_outputs.size()) << "number of outputs";
  Tensor loss;
  for (const auto& [key, expected] : expected_outputs) {
    ASSERT_TRUE(outputs.count(key)) << "missing output " << key;
    EXPECT_TRUE(close("output." + key, outputs.at(key), expected, kTolerance, report));
    Tensor term = sum(mul(outputs.at(key), grad_outputs.at(key)));
    loss = loss.defined() ? add(loss, term) : term;
  }
  loss.backward();

  for (const auto& [key, expected] : expected_grad_inputs) {
    ASSERT_TRUE(inputs.at(key).grad().defined()) << "no gradient reached input " << key;
    EXPECT_TRUE(close("grad_input." + key, inputs.at(key).grad(), expected, kTolerance, report));
  }
  const TensorMap expected_grad_params = with_prefix(file.tensors, "grad_param");
  size_t checked = 0;
  for (const auto& [key, param] : built.module->named_parameters()) {
    ASSERT_TRUE(expected_grad_params.count(key)) << "the golden file has no gradient for parameter " << key;
    ASSERT_TRUE(param.grad().defined()) << "no gradient reached parameter " << key;
    EXPECT_TRUE(close("grad_param." + key, param.grad(), expected_grad_params.at(key), kTolerance, report));
    ++checked;
  }
  EXPECT_EQ(checked, expected_grad_params.size()) << "parameter count differs from PyTorch's";
  std::cout << report.str();
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

class SequenceGolden : public ::testing::TestWithParam<std::string> {};
TEST_P(SequenceGolden, MatchesPyTorch) { check_against_golden(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Files, SequenceGolden, ::testing::ValuesIn(golden_cases()), case_name);

// The LSTM and GRU cases again with every layer forced onto oneDNN's RNN primitives (the
// automatic choice sends only wide layers there, which the small golden shapes are not).
std::vector<std::string> lstm_gru_cases() {
  std::vector<std::string> names;
  for (const std::string& name : golden_cases())
    if (name.rfind("lstm_", 0) == 0 || name.rfind("gru_", 0) == 0) names.push_back(name);
  return names;
}
class SequenceGoldenOnednn : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { kernels::set_recurrent_backend(kernels::RecurrentBackend::onednn); }
  void TearDown() override { kernels::set_recurrent_backend(kernels::RecurrentBackend::automatic); }
};
TEST_P(SequenceGoldenOnednn, MatchesPyTorch) { check_against_golden(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Files, SequenceGoldenOnednn, ::testing::ValuesIn(lstm_gru_cases()), case_name);

TEST(SequenceGoldenFiles, AllLayersAreCovered) {
  std::map<std::string, int> per_module;
  for (const std::string& name : golden_cases()) {
    io::SafetensorsFile file = io::load_safetensors(golden_dir() + "/" + name + ".safetensors");
    per_module[file.metadata.at("module")]++;
  }
  for (const char* kind : {"RNN", "LSTM", "GRU", "MultiheadAttention", "TransformerBlock"})
    EXPECT_GE(per_module[kind], 3) << "too few golden cases for " << kind << " in " << golden_dir();
}

}  // namespace
}  // namespace nabla
