// The Module machinery: parameter and buffer naming as in PyTorch, train/eval propagation, gradients
// and freezing, strict state dicts, Sequential's summary, and the initialisers' distributions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "../error_message.h"
#include "nabla/nabla.h"

namespace nabla {
namespace {

using nn::ModulePtr;
using test_support::error_of;

// A model with nested containers, named as a PyTorch user would name them:
// features = Sequential(conv, bn, relu, pool), classifier = Sequential(flatten, dropout, linear),
// and a parameter of its own registered after the children.
class Net : public nn::Module {
 public:
  Net() : Module("Net") {
    features = register_module(
        "features",
        std::make_shared<nn::Sequential>(std::initializer_list<ModulePtr>{
            std::make_shared<nn::Conv2d>(3, 8, 3, nn::Conv2dOptions{.padding = {1, 1}}),
            std::make_shared<nn::BatchNorm2d>(8), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2)}));
    classifier = register_module("classifier", std::make_shared<nn::Sequential>(std::initializer_list<ModulePtr>{
                                                   std::make_shared<nn::Flatten>(), std::make_shared<nn::Dropout>(0.5),
                                                   std::make_shared<nn::Linear>(32, 3)}));
    scale = register_parameter("scale", ones({1}));
  }
  Tensor forward(const Tensor& x) override { return mul(classifier->forward(features->forward(x)), scale); }

  std::shared_ptr<nn::Sequential> features, classifier;
  Tensor scale;
};

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> names;
  for (const auto& [name, t] : named) names.push_back(name);
  return names;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct Moments {
  double mean, std, min, max;
};
Moments moments(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  double s = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
  for (float x : v) s += x, sq += double(x) * x, lo = std::min(lo, double(x)), hi = std::max(hi, double(x));
  const double mean = s / double(v.size());
  return {mean, std::sqrt(sq / double(v.size()) - mean * mean), lo, hi};
}

// Keras' MNIST CNN, 225,034 parameters.
std::shared_ptr<nn::Sequential> keras_cnn() {
  return std::make_shared<nn::Sequential>(std::initializer_list<ModulePtr>{
      std::make_shared<nn::Conv2d>(1, 32, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Conv2d>(32, 64, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(1600, 128), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(128, 10)});
}

// ----------------------------------------------------------------------------- naming

TEST(ModuleNames, SequentialNamesChildrenByIndex) {
  nn::Sequential seq{std::make_shared<nn::Linear>(4, 3), std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::Linear>(3, 2, false)};
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(seq[1]->type_name(), "ReLU");
  EXPECT_EQ(names_of(seq.named_parameters()), (std::vector<std::string>{"0.weight", "0.bias", "2.weight"}));
  EXPECT_EQ(seq.parameter_count(), 4 * 3 + 3 + 3 * 2);
}

TEST(ModuleNames, NestedNamesAreDottedInPyTorchOrder) {
  Net net;
  // PyTorch lists a module's own parameters before its children's, whatever the registration order.
  EXPECT_EQ(names_of(net.named_parameters()),
            (std::vector<std::string>{"scale", "features.0.weight", "features.0.bias", "features.1.weight",
                                      "features.1.bias", "classifier.2.weight", "classifier.2.bias"}));
  EXPECT_EQ(names_of(net.named_parameters(/*recurse=*/false)), (std::vector<std::string>{"scale"}));
  EXPECT_EQ(names_of(net.features->named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"}));

  std::vector<std::string> modules;
  for (const auto& [name, m] : net.named_modules()) modules.push_back(name + ":" + m->type_name());
  EXPECT_EQ(modules, (std::vector<std::string>{"features:Sequential", "features.0:Conv2d", "features.1:BatchNorm2d",
                                               "features.2:ReLU", "features.3:MaxPool2d", "classifier:Sequential",
                                               "classifier.0:Flatten", "classifier.1:Dropout", "classifier.2:Linear"}));
}

TEST(ModuleNames, ParametersAreTheSameTensorsAsNamedParameters) {
  Net net;
  std::vector<Tensor> params = net.parameters();
  auto named = net.named_parameters();
  ASSERT_EQ(params.size(), named.size());
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(params[i].same(named[i].second)) << named[i].first;
    EXPECT_TRUE(params[i].requires_grad()) << named[i].first;
  }
  // The handles are the layer's own members, so an optimizer updating them updates the layer.
  auto conv = std::dynamic_pointer_cast<nn::Conv2d>((*net.features)[0]);
  ASSERT_NE(conv, nullptr);
  EXPECT_TRUE(params[1].same(conv->weight));
  EXPECT_TRUE(params[0].same(net.scale));
  EXPECT_EQ(net.parameter_count(), 1 + (8 * 3 * 9 + 8) + (8 + 8) + (32 * 3 + 3));
}

TEST(ModuleNames, BuffersAreNamedAndNotParameters) {
  Net net;
  auto buffers = net.named_buffers();
  EXPECT_EQ(names_of(buffers), (std::vector<std::string>{"features.1.running_mean", "features.1.running_var",
                                                         "features.1.num_batches_tracked"}));
  for (const auto& [name, b] : buffers) EXPECT_FALSE(b.requires_grad()) << name;
  EXPECT_EQ(buffers[2].second.dtype(), DType::i64);
  EXPECT_EQ(buffers[2].second.dim(), 0);
  // Buffers are saved but not trained: they are in the state dict, not in parameters().
  std::map<std::string, Tensor> state = net.state_dict();
  EXPECT_EQ(state.size(), net.named_parameters().size() + buffers.size());
  EXPECT_TRUE(state.count("features.1.num_batches_tracked"));
  for (const Tensor& p : net.parameters())
    for (const auto& [name, b] : buffers) EXPECT_FALSE(p.same(b));
}

TEST(ModuleNames, RegistrationErrorsNameTheProblem) {
  nn::Module m("Custom");
  m.register_parameter("w", zeros({2}));
  EXPECT_TRUE(contains(error_of([&] { m.register_parameter("w", zeros({2})); }), "\"w\" registered twice"));
  EXPECT_TRUE(contains(error_of([&] { m.register_buffer("a.b", zeros({2})); }), "contain no '.'"));
  EXPECT_TRUE(contains(error_of([&] { m.register_module("c", ModulePtr()); }), "\"c\" is null"));
  EXPECT_TRUE(contains(error_of([&] { m.forward(zeros({2})); }), "Custom: this module has no single-input"));
  // A parameter registered with requires_grad=false is frozen from the start.
  EXPECT_FALSE(m.register_parameter("fixed", zeros({2}), false).requires_grad());
  EXPECT_EQ(m.parameter_count(/*trainable_only=*/true), 2);
}

// ----------------------------------------------------------------------------- train / eval

TEST(ModuleMode, TrainAndEvalPropagateToEveryDescendant) {
  Net net;
  EXPECT_TRUE(net.is_training());
  net.eval();
  EXPECT_FALSE(net.is_training());
  for (const auto& [name, m] : net.named_modules()) EXPECT_FALSE(m->is_training()) << name;
  net.train();
  for (const auto& [name, m] : net.named_modules()) EXPECT_TRUE(m->is_training()) << name;
  // A child added to a model in eval mode joins it in eval mode.
  nn::Sequential seq;
  seq.eval();
  auto dropout = std::make_shared<nn::Dropout>(0.5);
  seq.add(dropout);
  EXPECT_FALSE(dropout->is_training());
}

TEST(ModuleMode, DropoutIsIdentityInEvalAndScaledMaskInTraining) {
  manual_seed(7);
  nn::Dropout dropout(0.3);
  Tensor x = add(rand({100000}), 0.5);  // away from 0, so a dropped element is unambiguous
  dropout.eval();
  EXPECT_EQ(dropout(x).to_vector<float>(), x.to_vector<float>());

  dropout.train();
  std::vector<float> in = x.to_vector<float>(), out = dropout(x).to_vector<float>();
  int64_t dropped = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (out[i] == 0) {
      ++dropped;
    } else {
      EXPECT_NEAR(out[i], in[i] / 0.7, 1e-6 * in[i]) << "kept elements are scaled by 1/(1-p), element " << i;
    }
  }
  // 100000 Bernoulli(0.3) draws: the dropped fraction has std 0.0015.
  EXPECT_NEAR(double(dropped) / double(in.size()), 0.3, 0.01);

  // The global generator makes masks reproducible.
  manual_seed(11);
  std::vector<float> first = dropout(x).to_vector<float>();
  manual_seed(11);
  EXPECT_EQ(dropout(x).to_vector<float>(), first);
}

TEST(ModuleMode, BatchNormUsesBatchStatisticsInTrainingAndRunningStatisticsInEval) {
  manual_seed(3);
  nn::BatchNorm2d bn(2, /*eps=*/1e-5, /*momentum=*/0.1);
  bn.load_state_dict({{"weight", tensor({2.0f, 0.5f})},
                      {"bias", tensor({0.25f, -1.0f})},
                      {"running_mean", tensor({1.0f, -2.0f})},
                      {"running_var", tensor({4.0f, 0.25f})},
                      {"num_batches_tracked", scalar_tensor(5, DType::i64)}});
  Tensor x = add(mul(randn({6, 2, 3, 3}), 3.0), 1.5);
  std::vector<float> xv = x.to_vector<float>();

  // Eval: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, and no state changes.
  bn.eval();
  std::vector<float> y = bn(x).to_vector<float>();
  const float rm[] = {1.0f, -2.0f}, rv[] = {4.0f, 0.25f}, w[] = {2.0f, 0.5f}, b[] = {0.25f, -1.0f};
  for (size_t i = 0; i < xv.size(); ++i) {
    const int c = int(i / 9) % 2;
    const double expected = (xv[i] - rm[c]) / std::sqrt(double(rv[c]) + 1e-5) * w[c] + b[c];
    EXPECT_NEAR(y[i], expected, 1e-5 * (1 + std::fabs(expected))) << i;
  }
  EXPECT_EQ(bn.running_mean.to_vector<float>(), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(bn.running_var.to_vector<float>(), (std::vector<float>{4.0f, 0.25f}));
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 5);

  // Training: each channel comes out with mean = bias and biased variance = weight^2, and the running
  // statistics move 10% of the way to the batch's mean and unbiased variance.
  bn.train();
  std::vector<float> yt = bn(x).to_vector<float>();
  for (int c = 0; c < 2; ++c) {
    double xs = 0, xsq = 0, ys = 0, ysq = 0;
    const int n = 6 * 9;
    for (int s = 0; s < 6; ++s)
      for (int k = 0; k < 9; ++k) {
        const size_t i = size_t((s * 2 + c) * 9 + k);
        xs += xv[i], xsq += double(xv[i]) * xv[i], ys += yt[i], ysq += double(yt[i]) * yt[i];
      }
    const double x_mean = xs / n, x_var_unbiased = (xsq - n * x_mean * x_mean) / (n - 1);
    const double y_mean = ys / n, y_var = ysq / n - y_mean * y_mean;
    EXPECT_NEAR(y_mean, b[c], 1e-5);
    EXPECT_NEAR(y_var, double(w[c]) * w[c], 1e-4);
    EXPECT_NEAR(bn.running_mean.to_vector<float>()[c], 0.9 * rm[c] + 0.1 * x_mean, 1e-5);
    EXPECT_NEAR(bn.running_var.to_vector<float>()[c], 0.9 * rv[c] + 0.1 * x_var_unbiased, 1e-4);
  }
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 6);
}

TEST(ModuleMode, BatchNormRejectsTheWrongChannelCount) {
  nn::BatchNorm2d bn(4);
  std::string message = error_of([&] { bn(zeros({2, 3, 5, 5})); });
  EXPECT_TRUE(contains(message, "BatchNorm2d")) << message;
  EXPECT_TRUE(contains(message, "4 channels")) << message;
  EXPECT_TRUE(contains(message, "[2, 3, 5, 5]")) << message;
  nn::BatchNorm1d bn1(3);
  EXPECT_TRUE(contains(error_of([&] { bn1(zeros({2, 3, 4, 4})); }), "BatchNorm1d"));
}

// ----------------------------------------------------------------------------- gradients and freezing

TEST(ModuleGrad, GradientsAccumulateAndZeroGradDropsThem) {
  manual_seed(5);
  Net net;
  Tensor x = randn({2, 3, 4, 4});
  net.eval();  // no dropout, so both passes give the same gradient
  net(x).sum().backward();
  std::vector<std::vector<float>> first;
  for (const auto& [name, p] : net.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    first.push_back(p.grad().to_vector<float>());
  }
  net(x).sum().backward();  // accumulates, as in PyTorch
  size_t i = 0;
  for (const auto& [name, p] : net.named_parameters()) {
    std::vector<float> g = p.grad().to_vector<float>();
    for (size_t k = 0; k < g.size(); ++k) EXPECT_NEAR(g[k], 2 * first[i][k], 1e-5 * (1 + std::fabs(g[k]))) << name;
    ++i;
  }
  net.zero_grad();
  for (const auto& [name, p] : net.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(ModuleGrad, FrozenParametersGetNoGradient) {
  manual_seed(6);
  Net net;
  net.features->requires_grad(false);
  EXPECT_EQ(net.parameter_count(/*trainable_only=*/true), 1 + 32 * 3 + 3);
  net(randn({2, 3, 4, 4})).sum().backward();
  for (const auto& [name, p] : net.named_parameters()) {
    const bool frozen = name.rfind("features.", 0) == 0;
    EXPECT_EQ(p.requires_grad(), !frozen) << name;
    EXPECT_EQ(p.grad().defined(), !frozen) << name;
  }
  // Unfreezing makes them train again.
  net.zero_grad();
  net.features->requires_grad(true);
  net(randn({2, 3, 4, 4})).sum().backward();
  for (const auto& [name, p] : net.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  EXPECT_EQ(net.parameter_count(true), net.parameter_count());
}

// Sequential runs ReLU + MaxPool2d as relu_max_pool2d; the output and every parameter's gradient
// must be those of running the layers one by one.
TEST(ModuleGradients, SequentialFusedReluPoolMatchesLayerByLayer) {
  manual_seed(11);
  auto net = keras_cnn();
  Tensor x = randn({3, 1, 28, 28});
  Tensor fused = net->forward(x);
  sum(mul(fused, fused)).backward();
  std::vector<Tensor> fused_grads;
  for (const Tensor& p : net->parameters()) fused_grads.push_back(p.grad().clone());
  net->zero_grad();
  Tensor h = x;
  for (size_t i = 0; i < net->size(); ++i) h = (*net)[i]->forward(h);
  sum(mul(h, h)).backward();
  EXPECT_EQ(fused.to_vector<float>(), h.to_vector<float>());
  const auto params = net->parameters();
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(fused_grads[i].to_vector<float>(), params[i].grad().to_vector<float>()) << "parameter " << i;
}

// ----------------------------------------------------------------------------- state dicts

TEST(ModuleState, StateDictRoundTripsThroughSafetensors) {
  manual_seed(8);
  Net source;
  source.train();
  source(randn({4, 3, 4, 4}));  // moves BatchNorm's running statistics away from their start
  manual_seed(9);
  Net target;
  std::vector<Tensor> handles = target.parameters();

  std::filesystem::path path = std::filesystem::temp_directory_path() / "nabla_nn_module_test_state.safetensors";
  io::save_safetensors(path.string(), source.state_dict());
  target.load_state_dict(io::load_safetensors(path.string()).tensors);
  std::filesystem::remove(path);

  std::map<std::string, Tensor> a = source.state_dict(), b = target.state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, t] : a) {
    ASSERT_TRUE(b.count(key)) << key;
    EXPECT_EQ(b[key].dtype(), t.dtype()) << key;
    if (t.dtype() == DType::i64) {
      EXPECT_EQ(b[key].to_vector<int64_t>(), t.to_vector<int64_t>()) << key;
    } else {
      EXPECT_EQ(b[key].to_vector<float>(), t.to_vector<float>()) << key;
    }
  }
  EXPECT_EQ(b.at("features.1.num_batches_tracked").item<int64_t>(), 1);

  // Loading copies values into the existing tensors: handles an optimizer holds stay valid, and
  // the two models share no storage.
  std::vector<Tensor> after = target.parameters();
  for (size_t i = 0; i < handles.size(); ++i) EXPECT_TRUE(after[i].same(handles[i]));
  EXPECT_NE(a.at("scale").storage(), b.at("scale").storage());

  source.eval();
  target.eval();
  Tensor x = randn({2, 3, 4, 4});
  EXPECT_EQ(source(x).to_vector<float>(), target(x).to_vector<float>());
}

TEST(ModuleState, StrictLoadListsEveryProblemInOneMessageAndChangesNothing) {
  manual_seed(10);
  Net net;
  std::map<std::string, Tensor> state = net.state_dict();
  for (auto& [key, t] : state) t = t.clone();
  state.erase("features.0.bias");
  state.erase("features.1.running_var");
  state["features.4.weight"] = zeros({3});
  state["head.bias"] = zeros({3});
  state["classifier.2.weight"] = zeros({3, 31});
  state["scale"] = zeros({2});

  const std::vector<float> before = net.classifier->named_parameters()[0].second.to_vector<float>();
  const std::string message = error_of([&] { net.load_state_dict(state); });
  ASSERT_NE(message, "(no error)") << "a mismatched state must not load";
  EXPECT_TRUE(contains(message, "load_state_dict into Net")) << message;
  EXPECT_TRUE(contains(message, "missing keys (2): features.0.bias features.1.running_var")) << message;
  EXPECT_TRUE(contains(message, "unexpected keys (2): features.4.weight head.bias")) << message;
  EXPECT_TRUE(contains(message, "shape mismatches (2):")) << message;
  EXPECT_TRUE(contains(message, "classifier.2.weight (checkpoint [3, 31], model [3, 32])")) << message;
  EXPECT_TRUE(contains(message, "scale (checkpoint [2], model [1])")) << message;
  // Nothing was copied before the error: the load is all or nothing.
  EXPECT_EQ(net.classifier->named_parameters()[0].second.to_vector<float>(), before);
}

TEST(ModuleState, LoadConvertsDtypesOfMatchingShapes) {
  nn::BatchNorm1d bn(2);
  bn.load_state_dict({{"weight", tensor({1.5f, 2.5f})},
                      {"bias", tensor({0.0f, 1.0f})},
                      {"running_mean", tensor({3.0f, 4.0f})},
                      {"running_var", tensor({5.0f, 6.0f})},
                      {"num_batches_tracked", scalar_tensor(12, DType::i64)}});
  EXPECT_EQ(bn.weight.to_vector<float>(), (std::vector<float>{1.5f, 2.5f}));
  EXPECT_EQ(bn.running_var.to_vector<float>(), (std::vector<float>{5.0f, 6.0f}));
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 12);
  EXPECT_TRUE(bn.weight.requires_grad());
}

// ----------------------------------------------------------------------------- summary

// The summary's line for layer `name` (e.g. "3 (Conv2d)"), or "" when there is none.
std::string summary_line(const std::string& summary, const std::string& label) {
  std::istringstream lines(summary);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(label + " ", 0) == 0) return line;
  return "";
}

TEST(ModuleSummary, KerasCnnShowsOutputShapesAndParameterCounts) {
  auto cnn = keras_cnn();
  const std::string s = cnn->summary({4, 1, 28, 28});
  struct Row {
    const char* label;
    const char* shape;
    int64_t params;
  };
  const Row rows[] = {{"0 (Conv2d)", "[4, 32, 26, 26]", 320},
                      {"1 (ReLU)", "[4, 32, 26, 26]", 0},
                      {"2 (MaxPool2d)", "[4, 32, 13, 13]", 0},
                      {"3 (Conv2d)", "[4, 64, 11, 11]", 18496},
                      {"4 (ReLU)", "[4, 64, 11, 11]", 0},
                      {"5 (MaxPool2d)", "[4, 64, 5, 5]", 0},
                      {"6 (Flatten)", "[4, 1600]", 0},
                      {"7 (Linear)", "[4, 128]", 204928},
                      {"8 (ReLU)", "[4, 128]", 0},
                      {"9 (Linear)", "[4, 10]", 1290}};
  for (const Row& row : rows) {
    const std::string line = summary_line(s, row.label);
    ASSERT_FALSE(line.empty()) << "no line for " << row.label << " in\n" << s;
    EXPECT_TRUE(contains(line, row.shape)) << line;
    std::string count(1, ' ');  // right-aligned after padding
    count += nabla::nn::with_commas(row.params);
    EXPECT_EQ(line.substr(line.size() - count.size()), count) << line;
  }
  EXPECT_TRUE(contains(s, "Total params: 225,034\n")) << s;
  EXPECT_TRUE(contains(s, "Trainable params: 225,034\n")) << s;
  EXPECT_TRUE(contains(s, "Non-trainable params: 0\n")) << s;
  EXPECT_EQ(cnn->parameter_count(), 225034);

  // Freezing moves parameters to the non-trainable total.
  (*cnn)[0]->requires_grad(false);
  const std::string frozen = cnn->summary({1, 1, 28, 28});
  EXPECT_TRUE(contains(frozen, "Trainable params: 224,714\n")) << frozen;
  EXPECT_TRUE(contains(frozen, "Non-trainable params: 320\n")) << frozen;
  EXPECT_TRUE(contains(summary_line(frozen, "9 (Linear)"), "[1, 10]"));
}

TEST(ModuleSummary, SummaryLeavesTheModelAsItWas) {
  manual_seed(12);
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<ModulePtr>{
      std::make_shared<nn::Conv2d>(3, 4, 3), std::make_shared<nn::BatchNorm2d>(4), std::make_shared<nn::Dropout>(0.5),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(4 * 3 * 3, 2)});
  const std::map<std::string, Tensor> before = model->state_dict();
  std::map<std::string, std::vector<float>> values;
  for (const auto& [k, t] : before)
    if (t.dtype() == DType::f32) values[k] = t.to_vector<float>();

  const std::string s = model->summary({2, 3, 5, 5});
  EXPECT_TRUE(contains(summary_line(s, "1 (BatchNorm2d)"), "[2, 4, 3, 3]")) << s;
  EXPECT_TRUE(contains(summary_line(s, "4 (Linear)"), "[2, 2]")) << s;
  EXPECT_TRUE(contains(s, "Total params: " + nabla::nn::with_commas(4 * 27 + 4 + 8 + 36 * 2 + 2) + "\n")) << s;

  // The shape pass runs without touching BatchNorm's statistics or the training mode.
  EXPECT_TRUE(model->is_training());
  for (const auto& [name, m] : model->named_modules()) EXPECT_TRUE(m->is_training()) << name;
  for (const auto& [k, t] : model->state_dict()) {
    if (t.dtype() == DType::f32) {
      EXPECT_EQ(t.to_vector<float>(), values[k]) << k;
    } else {
      EXPECT_EQ(t.item<int64_t>(), 0) << k;
    }
  }
  for (const Tensor& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(ModuleSummary, ModuleSummaryListsLeavesOfNestedModels) {
  Net net;
  const std::string s = net.summary();
  EXPECT_TRUE(contains(s, "Model: \"Net\"")) << s;
  EXPECT_TRUE(contains(summary_line(s, "features.0 (Conv2d)"), " 224")) << s;
  EXPECT_TRUE(contains(summary_line(s, "classifier.2 (Linear)"), " 99")) << s;
  EXPECT_TRUE(summary_line(s, "features (Sequential)").empty()) << "containers are not leaves:\n" << s;
  EXPECT_TRUE(contains(s, "Total params: " + nabla::nn::with_commas(net.parameter_count()) + "\n")) << s;
}

TEST(ModuleSummary, ContainersWithTheirOwnParametersGetARowSoRowsAddUpToTheTotal) {
  nn::MultiheadAttention attention(8, 2);
  const std::string s = attention.summary();
  EXPECT_TRUE(contains(summary_line(s, "(root) (MultiheadAttention)"), " 216")) << s;  // in_proj 3*8*8 + 3*8
  EXPECT_TRUE(contains(summary_line(s, "out_proj (Linear)"), " 72")) << s;
  EXPECT_TRUE(contains(s, "Total params: 288\n")) << s;
}

TEST(ModuleSummary, SequentialKeepsTheShapelessSummary) {
  auto cnn = keras_cnn();
  const std::string s = cnn->summary();  // Module's table: no shapes, no forward pass
  EXPECT_TRUE(contains(summary_line(s, "7 (Linear)"), " 204,928")) << s;
  EXPECT_TRUE(contains(s, "Total params: 225,034\n")) << s;
}

// ----------------------------------------------------------------------------- initialisers

// A large weight, so sample statistics are within a fraction of a percent of the distribution's.
constexpr int64_t kRows = 512, kCols = 1024;

TEST(Init, FansFollowPyTorchsConvention) {
  EXPECT_EQ(nn::init::fans(zeros({10, 20})), (std::pair<int64_t, int64_t>{20, 10}));
  EXPECT_EQ(nn::init::fans(zeros({16, 4, 3, 5})), (std::pair<int64_t, int64_t>{4 * 15, 16 * 15}));
  EXPECT_TRUE(contains(error_of([] { nn::init::fans(zeros({7})); }), "at least 2 dimensions"));
}

TEST(Init, KaimingUniformBoundAndStd) {
  manual_seed(20);
  Tensor w = zeros({kRows, kCols});
  nn::init::kaiming_uniform_(w, 0, "fan_in", "relu");
  const double bound = std::sqrt(2.0) * std::sqrt(3.0 / kCols);
  Moments m = moments(w);
  EXPECT_GE(m.min, -bound);
  EXPECT_LE(m.max, bound);
  EXPECT_GT(m.max, 0.999 * bound);  // the whole interval is used
  EXPECT_NEAR(m.std, bound / std::sqrt(3.0), 0.01 * bound / std::sqrt(3.0));
  EXPECT_NEAR(m.mean, 0, 0.01 * bound);

  // fan_out uses the row count; a = sqrt(5) on a Linear weight is PyTorch's default U(+-1/sqrt(in)).
  nn::init::kaiming_uniform_(w, 0, "fan_out", "relu");
  EXPECT_NEAR(moments(w).max, std::sqrt(6.0 / kRows), 0.001 * std::sqrt(6.0 / kRows));
  nn::init::kaiming_uniform_(w, std::sqrt(5.0));
  EXPECT_NEAR(moments(w).max, 1 / std::sqrt(double(kCols)), 0.001 / std::sqrt(double(kCols)));
  EXPECT_LE(moments(w).max, 1 / std::sqrt(double(kCols)));
}

TEST(Init, KaimingNormalStd) {
  manual_seed(21);
  Tensor w = zeros({kRows / 8, kCols / 8, 3, 3});  // a conv weight: fan_in = 128 * 9
  nn::init::kaiming_normal_(w, 0, "fan_in", "relu");
  const double expected = std::sqrt(2.0 / (kCols / 8 * 9));
  Moments m = moments(w);
  EXPECT_NEAR(m.std, expected, 0.01 * expected);
  EXPECT_NEAR(m.mean, 0, 0.01 * expected);
  nn::init::kaiming_normal_(w, 0.2, "fan_out", "leaky_relu");
  const double leaky = std::sqrt(2.0 / (1 + 0.04)) / std::sqrt(double(kRows / 8 * 9));
  EXPECT_NEAR(moments(w).std, leaky, 0.01 * leaky);
  EXPECT_TRUE(contains(error_of([&] { nn::init::kaiming_normal_(w, 0, "fan_avg"); }), "fan_in"));
  EXPECT_TRUE(contains(error_of([&] { nn::init::kaiming_normal_(w, 0, "fan_in", "swish"); }), "swish"));
}

TEST(Init, XavierBoundAndStd) {
  manual_seed(22);
  Tensor w = zeros({kRows, kCols});
  nn::init::xavier_uniform_(w);
  const double bound = std::sqrt(6.0 / (kRows + kCols));
  Moments m = moments(w);
  EXPECT_GE(m.min, -bound);
  EXPECT_LE(m.max, bound);
  EXPECT_GT(m.max, 0.999 * bound);
  EXPECT_NEAR(m.std, bound / std::sqrt(3.0), 0.01 * bound / std::sqrt(3.0));

  nn::init::xavier_normal_(w, /*gain=*/5.0 / 3.0);
  const double std_expected = 5.0 / 3.0 * std::sqrt(2.0 / (kRows + kCols));
  m = moments(w);
  EXPECT_NEAR(m.std, std_expected, 0.01 * std_expected);
  EXPECT_NEAR(m.mean, 0, 0.01 * std_expected);
}

// max |(W W^T)_ij - gain^2 delta_ij| for W viewed as [rows, numel/rows], over the shorter side.
double orthogonality_error(const Tensor& w, double gain) {
  const int64_t rows = w.shape()[0], cols = w.numel() / rows;
  std::vector<float> v = w.to_vector<float>();
  const bool wide = rows <= cols;
  const int64_t n = wide ? rows : cols, len = wide ? cols : rows;
  auto at = [&](int64_t vec, int64_t k) { return double(wide ? v[vec * cols + k] : v[k * cols + vec]); };
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < len; ++k) dot += at(i, k) * at(j, k);
      worst = std::max(worst, std::fabs(dot - (i == j ? gain * gain : 0.0)));
    }
  return worst;
}

TEST(Init, OrthogonalGivesOrthonormalRowsOrColumns) {
  manual_seed(23);
  Tensor wide = zeros({64, 256}), tall = zeros({256, 48}), square = zeros({100, 100}), conv = zeros({16, 8, 3, 3});
  nn::init::orthogonal_(wide);
  nn::init::orthogonal_(tall);
  nn::init::orthogonal_(square, /*gain=*/2.0);
  nn::init::orthogonal_(conv);
  // float32 storage of unit vectors: dot products are exact to a few 1e-7.
  EXPECT_LT(orthogonality_error(wide, 1.0), 1e-5);    // W W^T = I
  EXPECT_LT(orthogonality_error(tall, 1.0), 1e-5);    // W^T W = I
  EXPECT_LT(orthogonality_error(square, 2.0), 4e-5);  // W W^T = gain^2 I
  EXPECT_LT(orthogonality_error(conv, 1.0), 1e-5);    // rows of the [16, 72] view
}

TEST(Init, FillsWriteIntoViewsAndParametersInPlace) {
  nn::Linear lin(3, 2);
  Tensor handle = lin.weight;
  nn::init::constant_(lin.weight, 0.5);
  nn::init::zeros_(lin.bias);
  EXPECT_TRUE(lin.named_parameters()[0].second.same(handle));
  EXPECT_EQ(handle.to_vector<float>(), std::vector<float>(6, 0.5f));
  EXPECT_EQ(lin.bias.to_vector<float>(), std::vector<float>(2, 0.0f));
  EXPECT_TRUE(lin.weight.requires_grad());
  Tensor column = lin.weight.select(1, 1);
  nn::init::ones_(column);
  EXPECT_EQ(lin.weight.to_vector<float>(), (std::vector<float>{0.5f, 1, 0.5f, 0.5f, 1, 0.5f}));
}

// ----------------------------------------------------------------------------- default inits

TEST(DefaultInit, LinearIsUniformWithinOneOverSqrtFanIn) {
  manual_seed(30);
  nn::Linear lin(256, 512);
  const double bound = 1 / std::sqrt(256.0);
  Moments w = moments(lin.weight), b = moments(lin.bias);
  EXPECT_GE(w.min, -bound);
  EXPECT_LE(w.max, bound);
  EXPECT_GT(w.max, 0.99 * bound);
  EXPECT_LT(w.min, -0.99 * bound);
  EXPECT_NEAR(w.std, bound / std::sqrt(3.0), 0.01 * bound);
  EXPECT_GE(b.min, -bound);
  EXPECT_LE(b.max, bound);
  EXPECT_GT(b.max - b.min, bound);  // 512 draws spread over the interval, not a constant
}

TEST(DefaultInit, Conv2dIsUniformWithinOneOverSqrtFanInPerGroup) {
  manual_seed(31);
  nn::Conv2d conv(32, 64, 3, nn::Conv2dOptions{.groups = 4});
  EXPECT_EQ(conv.weight.shape(), Shape({64, 8, 3, 3}));
  const double bound = 1 / std::sqrt(8.0 * 9.0);
  Moments w = moments(conv.weight), b = moments(conv.bias);
  EXPECT_GE(w.min, -bound);
  EXPECT_LE(w.max, bound);
  EXPECT_GT(w.max, 0.99 * bound);
  EXPECT_NEAR(w.std, bound / std::sqrt(3.0), 0.03 * bound);
  EXPECT_GE(b.min, -bound);
  EXPECT_LE(b.max, bound);
  nn::Conv2d no_bias(3, 4, 3, nn::Conv2dOptions{.bias = false});
  EXPECT_FALSE(no_bias.bias.defined());
  EXPECT_EQ(names_of(no_bias.named_parameters()), (std::vector<std::string>{"weight"}));
}

TEST(DefaultInit, EmbeddingIsStandardNormalWithAZeroPaddingRow) {
  manual_seed(32);
  nn::Embedding emb(1000, 64, /*padding_idx=*/-1);
  Moments m = moments(emb.weight.narrow(0, 0, 999));
  EXPECT_NEAR(m.mean, 0, 0.02);
  EXPECT_NEAR(m.std, 1, 0.02);
  EXPECT_EQ(emb.weight.select(0, 999).to_vector<float>(), std::vector<float>(64, 0.0f));
}

TEST(DefaultInit, NormalisationLayersStartAsTheIdentity) {
  nn::BatchNorm2d bn(3);
  EXPECT_EQ(bn.weight.to_vector<float>(), std::vector<float>(3, 1.0f));
  EXPECT_EQ(bn.bias.to_vector<float>(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(bn.running_mean.to_vector<float>(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(bn.running_var.to_vector<float>(), std::vector<float>(3, 1.0f));
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 0);
  nn::BatchNorm1d plain(3, 1e-5, 0.1, /*affine=*/false, /*track_running_stats=*/false);
  EXPECT_TRUE(plain.named_parameters().empty());
  EXPECT_TRUE(plain.named_buffers().empty());
  nn::LayerNorm ln(std::vector<int64_t>{2, 3});
  EXPECT_EQ(ln.weight.shape(), Shape({2, 3}));
  EXPECT_EQ(ln.weight.to_vector<float>(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(ln.bias.to_vector<float>(), std::vector<float>(6, 0.0f));
}

TEST(DefaultInit, SameSeedSameModel) {
  manual_seed(33);
  Net a;
  manual_seed(33);
  Net b;
  manual_seed(34);
  Net c;
  auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].to_vector<float>(), pb[i].to_vector<float>());
  EXPECT_NE(pa[1].to_vector<float>(), pc[1].to_vector<float>());
}

}  // namespace
}  // namespace nabla

TEST(ModuleTransfer, NonStrictLoadTakesTheBodyAndReportsTheRest) {
  // A pretrained 2-layer body, loaded into a model whose head has a different width.
  nabla::nn::Sequential pretrained(
      {std::make_shared<nabla::nn::Linear>(4, 8), std::make_shared<nabla::nn::Linear>(8, 3)});
  nabla::nn::Sequential fresh({std::make_shared<nabla::nn::Linear>(4, 8)});
  fresh.add(std::make_shared<nabla::nn::ReLU>());
  fresh.add(std::make_shared<nabla::nn::Linear>(8, 5));
  auto state = pretrained.state_dict();
  state.erase("1.weight");
  state.erase("1.bias");
  auto result = fresh.load_state_dict(state, /*strict=*/false);
  EXPECT_EQ(result.missing_keys, std::vector<std::string>({"2.bias", "2.weight"}));
  EXPECT_TRUE(result.unexpected_keys.empty());
  EXPECT_EQ(fresh.state_dict().at("0.weight").to_vector<float>(),
            pretrained.state_dict().at("0.weight").to_vector<float>());
  // A mis-shaped key is an error even when not strict.
  auto wrong = pretrained.state_dict();
  EXPECT_THROW(fresh.load_state_dict({{"2.weight", wrong.at("1.weight")}}, false), nabla::Error);
}
