// Checks every layer, and whole models built from them, against PyTorch: one test per golden file
// written by tests/golden/nn/make_nn_golden.py (its docstring describes the file format). Each test
// builds the nabla module from the file's JSON spec, loads PyTorch's state_dict into it, and
// compares the output, the input and parameter gradients, and the buffers after the call.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nabla/nabla.h"

#ifndef NABLA_SOURCE_DIR
#error "NABLA_SOURCE_DIR must name the repository root (set it in CMake)"
#endif

namespace nabla {
namespace {

using json = nlohmann::json;
using nn::ModulePtr;

const std::string kDataDir = std::string(NABLA_SOURCE_DIR) + "/tests/golden/nn/data";

// ----------------------------------------------------------------------------- spec -> nabla module

Pair pair_arg(const json& value) { return {value.at(0).get<int64_t>(), value.at(1).get<int64_t>()}; }

// make_nn_golden.py's torch_module is the PyTorch side of this table.
ModulePtr build_module(const json& spec) {
  const std::string type = spec.at("type").get<std::string>();
  if (type == "Sequential") {
    auto seq = std::make_shared<nn::Sequential>();
    for (const json& layer : spec.at("layers")) seq->add(build_module(layer));
    return seq;
  }
  if (type == "Linear")
    return std::make_shared<nn::Linear>(spec.at("in_features").get<int64_t>(), spec.at("out_features").get<int64_t>(),
                                        spec.at("bias").get<bool>());
  if (type == "Conv2d") {
    nn::Conv2dOptions options;
    options.stride = pair_arg(spec.at("stride"));
    options.padding = pair_arg(spec.at("padding"));
    options.dilation = pair_arg(spec.at("dilation"));
    options.groups = spec.at("groups").get<int64_t>();
    options.bias = spec.at("bias").get<bool>();
    return std::make_shared<nn::Conv2d>(spec.at("in_channels").get<int64_t>(), spec.at("out_channels").get<int64_t>(),
                                        pair_arg(spec.at("kernel_size")), options);
  }
  if (type == "MaxPool2d")
    return std::make_shared<nn::MaxPool2d>(pair_arg(spec.at("kernel_size")), pair_arg(spec.at("stride")),
                                           pair_arg(spec.at("padding")), spec.at("ceil_mode").get<bool>());
  if (type == "AvgPool2d")
    return std::make_shared<nn::AvgPool2d>(pair_arg(spec.at("kernel_size")), pair_arg(spec.at("stride")),
                                           pair_arg(spec.at("padding")), spec.at("ceil_mode").get<bool>(),
                                           spec.at("count_include_pad").get<bool>());
  if (type == "AdaptiveAvgPool2d") return std::make_shared<nn::AdaptiveAvgPool2d>(pair_arg(spec.at("output_size")));
  if (type == "Flatten")
    return std::make_shared<nn::Flatten>(spec.at("start_dim").get<int64_t>(), spec.at("end_dim").get<int64_t>());
  if (type == "Dropout") return std::make_shared<nn::Dropout>(spec.at("p").get<double>());
  if (type == "BatchNorm1d" || type == "BatchNorm2d") {
    const int64_t n = spec.at("num_features").get<int64_t>();
    const double eps = spec.at("eps").get<double>(), momentum = spec.at("momentum").get<double>();
    const bool affine = spec.at("affine").get<bool>(), track = spec.at("track_running_stats").get<bool>();
    if (type == "BatchNorm1d") return std::make_shared<nn::BatchNorm1d>(n, eps, momentum, affine, track);
    return std::make_shared<nn::BatchNorm2d>(n, eps, momentum, affine, track);
  }
  if (type == "LayerNorm")
    return std::make_shared<nn::LayerNorm>(spec.at("normalized_shape").get<std::vector<int64_t>>(),
                                           spec.at("eps").get<double>(), spec.at("elementwise_affine").get<bool>());
  if (type == "Embedding") {
    std::optional<int64_t> padding_idx;
    if (!spec.at("padding_idx").is_null()) padding_idx = spec.at("padding_idx").get<int64_t>();
    return std::make_shared<nn::Embedding>(spec.at("num_embeddings").get<int64_t>(),
                                           spec.at("embedding_dim").get<int64_t>(), padding_idx);
  }
  if (type == "ReLU") return std::make_shared<nn::ReLU>();
  if (type == "Sigmoid") return std::make_shared<nn::Sigmoid>();
  if (type == "Tanh") return std::make_shared<nn::Tanh>();
  if (type == "GELU") return std::make_shared<nn::GELU>(spec.at("approximate").get<std::string>());
  if (type == "LeakyReLU") return std::make_shared<nn::LeakyReLU>(spec.at("negative_slope").get<double>());
  if (type == "Softmax") return std::make_shared<nn::Softmax>(spec.at("dim").get<int64_t>());
  fail("layers_golden_test: the golden spec names layer type \"", type,
       "\", which build_module does not know; add it here and in make_nn_golden.py's torch_module");
}

// ----------------------------------------------------------------------------- comparison

struct Tolerance {
  double rtol;
  double atol;
};

// The goldens are float64 results rounded to float32, so tolerances bound nabla's float32 error.
constexpr Tolerance kTolerance{1e-5, 1e-5};

// The largest differences one test saw, recorded as test properties (see --gtest_output=xml) so
// parity can be tracked without failing anything.
struct Differences {
  double max_abs = 0, max_rel = 0;  // max_rel over elements with |expected| >= 1e-3, where it means something
  double tolerance_used = 0;        // max |diff| / (atol + rtol |expected|): 1 is the limit
  void record() const {
    for (auto [name, value] : {std::pair{"max_abs_diff", max_abs}, std::pair{"max_rel_diff", max_rel},
                               std::pair{"tolerance_used", tolerance_used}}) {
      std::ostringstream text;
      text << std::setprecision(3) << value;
      ::testing::Test::RecordProperty(name, text.str());
    }
  }
};

// Integer tensors must match exactly; float tensors within rtol/atol, elementwise.
::testing::AssertionResult all_close(const std::string& what, const Tensor& actual, const Tensor& expected,
                                     Differences& seen, Tolerance tol = kTolerance) {
  if (!actual.defined()) return ::testing::AssertionFailure() << what << ": nabla gave an undefined tensor";
  if (!(actual.shape() == expected.shape()))
    return ::testing::AssertionFailure() << what << ": shape " << actual.shape() << ", expected " << expected.shape();
  if (actual.dtype() != expected.dtype())
    return ::testing::AssertionFailure() << what << ": dtype " << dtype_name(actual.dtype()) << ", expected "
                                         << dtype_name(expected.dtype());
  if (expected.dtype() == DType::i64) {
    std::vector<int64_t> a = actual.to_vector<int64_t>(), e = expected.to_vector<int64_t>();
    for (size_t i = 0; i < e.size(); ++i)
      if (a[i] != e[i])
        return ::testing::AssertionFailure() << what << ": element " << i << " is " << a[i] << ", expected " << e[i];
    return ::testing::AssertionSuccess();
  }
  std::vector<float> a = actual.to_vector<float>(), e = expected.to_vector<float>();
  int64_t mismatches = 0, worst = -1;
  double worst_excess = 0, max_abs = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    const double diff = std::fabs(double(a[i]) - double(e[i]));  // NaN fails every comparison below
    const double allowed = tol.atol + tol.rtol * std::fabs(e[i]);
    if (!(diff <= allowed)) {
      ++mismatches;
      const double excess = std::isnan(diff) ? INFINITY : diff - allowed;
      if (worst < 0 || excess > worst_excess) worst = int64_t(i), worst_excess = excess;
    }
    max_abs = std::max(max_abs, std::isnan(diff) ? double(INFINITY) : diff);
    seen.max_abs = std::max(seen.max_abs, max_abs);
    seen.tolerance_used = std::max(seen.tolerance_used, std::isnan(diff) ? double(INFINITY) : diff / allowed);
    if (std::fabs(e[i]) >= 1e-3) seen.max_rel = std::max(seen.max_rel, diff / std::fabs(e[i]));
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << mismatches << " of " << e.size() << " elements differ (rtol "
                                       << tol.rtol << ", atol " << tol.atol << "); max abs diff " << max_abs
                                       << "; worst at flat index " << worst << ": " << a[worst] << " vs expected "
                                       << e[worst];
}

// PyTorch's weight gradient of a Linear layer, dW = grad_output^T @ input, rebuilt in double from the
// factors the script stores instead of the (large) gradient itself.
Tensor weight_grad_from_factors(const Tensor& input, const Tensor& grad_output) {
  const int64_t rows = input.shape()[0], in = input.shape()[1], out = grad_output.shape()[1];
  std::vector<float> x = input.to_vector<float>(), g = grad_output.to_vector<float>();
  std::vector<float> dw(size_t(out * in));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      double s = 0;
      for (int64_t r = 0; r < rows; ++r) s += double(g[r * out + o]) * double(x[r * in + i]);
      dw[o * in + i] = float(s);
    }
  return tensor(dw, {out, in});
}

// ----------------------------------------------------------------------------- golden files

std::vector<std::string> golden_cases() {
  std::vector<std::string> names;
  if (!std::filesystem::is_directory(kDataDir)) return names;
  for (const auto& entry : std::filesystem::directory_iterator(kDataDir))
    if (entry.path().extension() == ".safetensors") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Tensors whose key starts with `prefix`, keyed by the rest.
std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [key, t] : tensors)
    if (key.rfind(prefix, 0) == 0) out[key.substr(prefix.size())] = t;
  return out;
}

class LayerGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LayerGoldenTest, MatchesPyTorch) {
  const io::SafetensorsFile file = io::load_safetensors(kDataDir + "/" + GetParam() + ".safetensors");
  const std::map<std::string, Tensor>& t = file.tensors;
  const json spec = json::parse(file.metadata.at("module"));
  const std::string mode = file.metadata.at("mode");
  ASSERT_TRUE(mode == "train" || mode == "eval") << mode;

  ModulePtr module = build_module(spec);
  module->load_state_dict(with_prefix(t, "state."));
  module->train(mode == "train");

  Differences seen;
  Tensor input = t.at("input").clone();
  if (input.dtype() == DType::f32) input.requires_grad_();
  Tensor output = module->forward(input);
  EXPECT_TRUE(all_close("output", output, t.at("output"), seen));

  output.backward(t.at("grad_output"));
  if (t.count("grad.input")) {
    EXPECT_TRUE(all_close("grad.input", input.grad(), t.at("grad.input"), seen));
  } else {
    EXPECT_EQ(input.dtype(), DType::i64) << "a float input needs a reference gradient";
  }

  // Every parameter is checked, against its stored gradient or the one rebuilt from factors.
  std::set<std::string> checked_keys = {"input", "output", "grad_output", "grad.input"};
  for (const auto& [name, param] : module->named_parameters()) {
    const std::string key = "grad." + name, factor = "grad_factors." + name;
    if (t.count(key)) {
      EXPECT_TRUE(all_close(key, param.grad(), t.at(key), seen));
      checked_keys.insert(key);
    } else if (t.count(factor + ".input")) {
      Tensor expected = weight_grad_from_factors(t.at(factor + ".input"), t.at(factor + ".grad_output"));
      EXPECT_TRUE(all_close(factor, param.grad(), expected, seen));
      checked_keys.insert({factor + ".input", factor + ".grad_output"});
    } else {
      ADD_FAILURE() << "the golden file has no gradient for parameter " << name;
    }
  }
  // Buffers after the call: BatchNorm's running statistics and num_batches_tracked.
  for (const auto& [name, buffer] : module->named_buffers()) {
    const std::string key = "state_after." + name;
    ASSERT_TRUE(t.count(key)) << "the golden file has no " << key;
    EXPECT_TRUE(all_close(key, buffer, t.at(key), seen));
    checked_keys.insert(key);
  }
  // The reverse direction: nothing PyTorch recorded goes unchecked (a parameter nabla lacks would).
  for (const auto& [key, tensor] : t) {
    if (key.rfind("state.", 0) != 0) {
      EXPECT_TRUE(checked_keys.count(key)) << key << " was not checked";
    }
  }
  seen.record();
}

INSTANTIATE_TEST_SUITE_P(NnGolden, LayerGoldenTest, ::testing::ValuesIn(golden_cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(NnGoldenFiles, DirectoryHoldsTheCases) {
  const std::vector<std::string> names = golden_cases();
  ASSERT_GE(names.size(), 30u) << "run python3 tests/golden/nn/make_nn_golden.py to write the golden files into "
                               << kDataDir;
  for (const char* required : {"keras_cnn", "lenet5", "batch_norm2d_train", "batch_norm2d_eval",
                               "embedding_padding_idx", "layer_norm_2d", "conv2d_groups"})
    EXPECT_TRUE(std::find(names.begin(), names.end(), required) != names.end()) << required;
}

// The Keras CNN's golden state is exactly PyTorch's state_dict for the 225,034-parameter model.
TEST(NnGoldenFiles, KerasCnnStateHasPyTorchKeysAndSizes) {
  const io::SafetensorsFile file = io::load_safetensors(kDataDir + "/keras_cnn.safetensors");
  std::map<std::string, Tensor> state = with_prefix(file.tensors, "state.");
  std::vector<std::string> keys;
  int64_t total = 0;
  for (const auto& [key, tensor] : state) keys.push_back(key), total += tensor.numel();
  EXPECT_EQ(keys, (std::vector<std::string>{"0.bias", "0.weight", "3.bias", "3.weight", "7.bias", "7.weight", "9.bias",
                                            "9.weight"}));
  EXPECT_EQ(total, 225034);
}

}  // namespace
}  // namespace nabla
