// Keras' Attention and AdditiveAttention against Keras itself (golden files written by
// tests/golden/keras/make_keras_golden.py on Keras' torch backend, float64): outputs, attention
// distributions and every gradient; and against finite differences.
#include "nabla/nn/keras_attention.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "nabla/nabla.h"

using namespace nabla;
namespace fs = std::filesystem;

namespace {

const std::string kDir = std::string(NABLA_SOURCE_DIR) + "/tests/golden/keras/data";

std::vector<std::string> golden_cases() {
  std::vector<std::string> names;
  if (fs::exists(kDir))
    for (const auto& e : fs::directory_iterator(kDir))
      if (e.path().extension() == ".safetensors") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

void expect_close(const Tensor& actual, const Tensor& expected, const std::string& what, double tol = 1e-5) {
  ASSERT_TRUE(actual.defined()) << what;
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const std::vector<float> a = actual.to_vector<float>(), e = expected.to_vector<float>();
  for (size_t i = 0; i < e.size(); ++i)
    ASSERT_NEAR(a[i], e[i], tol * (1 + std::fabs(e[i]))) << what << " element " << i;
}

class KerasGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(KerasGolden, MatchesKeras) {
  io::SafetensorsFile f = io::load_safetensors(kDir + "/" + GetParam() + ".safetensors");
  auto t = [&](const std::string& key) {
    auto it = f.tensors.find(key);
    return it == f.tensors.end() ? Tensor() : it->second.contiguous();
  };
  const nlohmann::json args = nlohmann::json::parse(f.metadata.at("args"));
  const bool causal = nlohmann::json::parse(f.metadata.at("call")).at("use_causal_mask").get<bool>();
  Tensor query = t("query").clone().requires_grad_(), value = t("value").clone().requires_grad_();
  Tensor key = t("key").defined() ? t("key").clone().requires_grad_() : Tensor();
  std::shared_ptr<nn::KerasAttentionBase> layer;
  if (f.metadata.at("layer") == "Attention")
    layer = std::make_shared<nn::KerasAttention>(args.value("use_scale", false), args.value("score_mode", "dot"));
  else
    layer = std::make_shared<nn::KerasAdditiveAttention>(query.size(-1), args.value("use_scale", true));
  std::map<std::string, Tensor> state;
  for (auto& [name, p] : layer->named_parameters()) state[name] = t("weight." + name);
  layer->load_state_dict(state);

  nn::KerasAttentionOutput out = layer->forward(query, value, key, t("value_mask"), t("query_mask"), causal);
  expect_close(out.output, t("output"), "output");
  expect_close(out.scores, t("scores"), "scores");
  sum(mul(out.output, t("grad_output"))).backward();
  expect_close(query.grad(), t("grad.query"), "grad.query", 1e-4);
  expect_close(value.grad(), t("grad.value"), "grad.value", 1e-4);
  if (key.defined()) expect_close(key.grad(), t("grad.key"), "grad.key", 1e-4);
  for (auto& [name, p] : layer->named_parameters())
    expect_close(p.grad(), t("grad.weight." + name), "grad " + name, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Keras, KerasGolden, ::testing::ValuesIn(golden_cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace

TEST(KerasAttention, GoldenFilesArePresent) { EXPECT_GE(golden_cases().size(), 12u) << kDir; }

// The inputs' gradients against finite differences (the weights' are checked by the goldens).
TEST(KerasAttention, GradientsMatchFiniteDifferences) {
  manual_seed(5);
  for (int variant = 0; variant < 3; ++variant) {
    std::shared_ptr<nn::KerasAttentionBase> layer;
    if (variant == 0) layer = std::make_shared<nn::KerasAttention>(true);
    if (variant == 1) layer = std::make_shared<nn::KerasAttention>(true, "concat");
    if (variant == 2) layer = std::make_shared<nn::KerasAdditiveAttention>(3);
    GradcheckResult r = gradcheck(
        [&](const std::vector<Tensor>& x) {
          return layer->forward(x[0], x[1], x[2], Tensor(), Tensor(), /*causal=*/variant == 2).output;
        },
        {randn({2, 4, 3}), randn({2, 4, 3}), randn({2, 4, 3})});
    EXPECT_TRUE(r.ok) << "variant " << variant << ": " << r.message;
  }
}

TEST(KerasAttention, MaskedKeysTakeNoWeightAndRowsSumToOne) {
  manual_seed(2);
  nn::KerasAttention attention;
  Tensor q = randn({1, 3, 4}), v = randn({1, 5, 4});
  Tensor mask = gt(tensor({1, 0, 1, 1, 0}, {1, 5}), zeros({}));
  nn::KerasAttentionOutput o = attention.forward(q, v, Tensor(), mask);
  const std::vector<float> s = o.scores.to_vector<float>();
  for (int row = 0; row < 3; ++row) {
    float total = 0;
    for (int j = 0; j < 5; ++j) total += s[size_t(row * 5 + j)];
    EXPECT_NEAR(total, 1.0f, 1e-6);
    EXPECT_EQ(s[size_t(row * 5 + 1)], 0.0f);
    EXPECT_EQ(s[size_t(row * 5 + 4)], 0.0f);
  }
  EXPECT_THROW(attention.forward(q, randn({2, 5, 4})), Error);  // batches differ
  EXPECT_THROW(nn::KerasAttention(false, "cosine"), Error);
}
