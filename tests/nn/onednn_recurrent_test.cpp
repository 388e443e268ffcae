// LSTM and GRU layers on oneDNN's RNN primitives against the same layers on nabla's fused
// kernels: outputs, final states and every gradient, on shapes the PyTorch golden files do not
// reach (wide layers, long sequences), and the automatic per-shape choice between the two.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>

#include "nabla/kernels/rnn_onednn.h"
#include "nabla/nabla.h"

namespace nabla {
namespace {

using kernels::RecurrentBackend;

struct Case {
  std::string name;
  bool lstm;
  int64_t steps, batch, input, hidden, layers;
  bool bidirectional, bias, with_state;
};

struct Result {
  std::map<std::string, Tensor> values;  // outputs, then the gradient of every input and parameter
};

Result run(const Case& c, RecurrentBackend backend) {
  kernels::set_recurrent_backend(backend);
  manual_seed(7);
  nn::RecurrentOptions options;
  options.num_layers = c.layers;
  options.bidirectional = c.bidirectional;
  options.bias = c.bias;
  std::unique_ptr<nn::RecurrentBase> module;
  if (c.lstm)
    module = std::make_unique<nn::LSTM>(c.input, c.hidden, options);
  else
    module = std::make_unique<nn::GRU>(c.input, c.hidden, options);
  const int64_t states = c.layers * (c.bidirectional ? 2 : 1);
  Tensor x = randn({c.steps, c.batch, c.input}).requires_grad_();
  Tensor h0 = c.with_state ? randn({states, c.batch, c.hidden}).requires_grad_() : Tensor();
  Tensor c0 = c.with_state && c.lstm ? randn({states, c.batch, c.hidden}).requires_grad_() : Tensor();
  nn::RecurrentOutput out = module->forward(x, h0, c0);
  // Weights on every output so each path's gradient is distinct.
  Tensor loss = sum(mul(out.output, randn(out.output.shape())));
  loss = add(loss, sum(mul(out.h_n, randn(out.h_n.shape()))));
  if (c.lstm) loss = add(loss, sum(mul(out.c_n, randn(out.c_n.shape()))));
  loss.backward();
  kernels::set_recurrent_backend(RecurrentBackend::automatic);

  Result r;
  r.values["output"] = out.output;
  r.values["h_n"] = out.h_n;
  if (c.lstm) r.values["c_n"] = out.c_n;
  r.values["grad.x"] = x.grad();
  if (h0.defined()) r.values["grad.h0"] = h0.grad();
  if (c0.defined()) r.values["grad.c0"] = c0.grad();
  for (const auto& [name, p] : module->named_parameters()) r.values["grad." + name] = p.grad();
  return r;
}

// Largest difference relative to the tensor's scale (sums over time and batch grow with it).
double scaled_difference(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.contiguous().to_vector<float>(), y = b.contiguous().to_vector<float>();
  double diff = 0, scale = 1e-12;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::isnan(x[i]) ? INFINITY : double(std::fabs(x[i] - y[i])));
    scale = std::max(scale, double(std::fabs(y[i])));
  }
  return diff / scale;
}

class OnednnRecurrent : public ::testing::TestWithParam<Case> {};

TEST_P(OnednnRecurrent, MatchesFusedKernels) {
  const Case& c = GetParam();
  Result onednn = run(c, RecurrentBackend::onednn), fused = run(c, RecurrentBackend::fused);
  ASSERT_EQ(onednn.values.size(), fused.values.size());
  for (const auto& [name, expected] : fused.values) {
    ASSERT_TRUE(onednn.values.at(name).defined()) << name << " is missing on the oneDNN path";
    ASSERT_EQ(onednn.values.at(name).shape(), expected.shape()) << name;
    EXPECT_LT(scaled_difference(onednn.values.at(name), expected), 2e-5) << c.name << ": " << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, OnednnRecurrent,
                         ::testing::Values(Case{"lstm_long", true, 64, 2, 8, 16, 1, false, true, true},
                                           Case{"gru_long", false, 64, 2, 8, 16, 1, false, true, true},
                                           Case{"lstm_wide", true, 12, 5, 33, 520, 1, false, true, false},
                                           Case{"gru_wide", false, 12, 5, 33, 520, 1, false, true, false},
                                           Case{"lstm_2layer_bidirectional", true, 9, 3, 6, 24, 2, true, true, true},
                                           Case{"gru_2layer_bidirectional", false, 9, 3, 6, 24, 2, true, true, true},
                                           Case{"gru_no_bias", false, 7, 4, 5, 12, 1, false, false, true},
                                           Case{"lstm_one_step", true, 1, 3, 4, 8, 1, false, true, true}),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(OnednnRecurrentChoice, FollowsTheMeasuredCrossovers) {
  using kernels::OnednnRecurrentShape;
  EXPECT_TRUE(kernels::recurrent_uses_onednn(OnednnRecurrentShape{kernels::RecurrentCell::lstm, 28, 64, 256, 1024}));
  EXPECT_FALSE(kernels::recurrent_uses_onednn(OnednnRecurrentShape{kernels::RecurrentCell::gru, 28, 64, 256, 1024}));
  EXPECT_TRUE(kernels::recurrent_uses_onednn(OnednnRecurrentShape{kernels::RecurrentCell::gru, 28, 64, 256, 2048}));
  EXPECT_FALSE(kernels::recurrent_uses_onednn(OnednnRecurrentShape{kernels::RecurrentCell::lstm, 100, 64, 64, 512}));
  EXPECT_FALSE(kernels::recurrent_uses_onednn(OnednnRecurrentShape{kernels::RecurrentCell::lstm, 100, 32, 128, 128}));
  EXPECT_FALSE(kernels::recurrent_uses_onednn(OnednnRecurrentShape{kernels::RecurrentCell::gru, 100, 32, 128, 512}));
  EXPECT_FALSE(kernels::recurrent_uses_onednn(OnednnRecurrentShape{kernels::RecurrentCell::rnn_tanh, 8, 8, 8, 2048}));
  kernels::set_recurrent_backend(RecurrentBackend::fused);
  EXPECT_FALSE(kernels::recurrent_uses_onednn(OnednnRecurrentShape{kernels::RecurrentCell::lstm, 28, 64, 256, 1024}));
  kernels::set_recurrent_backend(RecurrentBackend::automatic);
}

}  // namespace
}  // namespace nabla
