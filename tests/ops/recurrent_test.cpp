// The fused per-sequence recurrent op (recurrent_sequence: one autograd node, backward through
// time by hand) against the step-by-step composition of nabla ops and against finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "nabla/autograd/node.h"
#include "nabla/nabla.h"

namespace nabla {
namespace {

using nn::RecurrentCell;

// The same recurrence as the fused kernel, spelled with differentiable nabla ops one step at a time.
nn::RecurrentSequence step_by_step(RecurrentCell cell, const Tensor& x_gates, const Tensor& h0, const Tensor& c0,
                                   const Tensor& w_hh, const Tensor& b_hh, bool reverse) {
  const int64_t steps = x_gates.shape()[0];
  Tensor h = h0, c = c0;
  std::vector<Tensor> outputs(steps);
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t t = reverse ? steps - 1 - step : step;
    Tensor x = x_gates.select(0, t);
    Tensor r = linear(h, w_hh, b_hh);
    switch (cell) {
      case RecurrentCell::rnn_tanh: h = tanh(add(x, r)); break;
      case RecurrentCell::rnn_relu: h = relu(add(x, r)); break;
      case RecurrentCell::lstm: {
        std::vector<Tensor> g = chunk(add(x, r), 4, 1);
        c = add(mul(sigmoid(g[1]), c), mul(sigmoid(g[0]), tanh(g[2])));
        h = mul(sigmoid(g[3]), tanh(c));
        break;
      }
      case RecurrentCell::gru: {
        std::vector<Tensor> xs = chunk(x, 3, 1), rs = chunk(r, 3, 1);
        Tensor reset = sigmoid(add(xs[0], rs[0])), update = sigmoid(add(xs[1], rs[1]));
        Tensor n = tanh(add(xs[2], mul(reset, rs[2])));
        h = add(mul(1.0 - update, n), mul(update, h));
        break;
      }
    }
    outputs[t] = h;
  }
  return {stack(outputs, 0), h, c};
}

int64_t gates_of(RecurrentCell cell) { return kernels::recurrent_gate_count(cell); }

void expect_close(const std::string& what, const Tensor& actual, const Tensor& expected, double rtol = 1e-5,
                  double atol = 1e-6) {
  ASSERT_TRUE(actual.defined()) << what << " is undefined";
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  std::vector<float> a = actual.contiguous().to_vector<float>(), e = expected.contiguous().to_vector<float>();
  double scale = 0;
  for (float v : e) scale = std::max(scale, double(std::fabs(v)));
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_LE(std::fabs(a[i] - e[i]), atol * scale + rtol * std::fabs(e[i]))
        << what << " element " << i << ": " << a[i] << " vs " << e[i] << " (scale " << scale << ")";
}

struct FusedCase {
  RecurrentCell cell;
  bool reverse, bias;
  int64_t steps;
};

std::string case_name(const ::testing::TestParamInfo<FusedCase>& info) {
  std::string name = kernels::recurrent_cell_name(info.param.cell);
  name += info.param.reverse ? "_reverse" : "_forward";
  name += info.param.bias ? "_bias" : "_no_bias";
  return name + "_T" + std::to_string(info.param.steps);
}

class FusedVsComposition : public ::testing::TestWithParam<FusedCase> {};

TEST_P(FusedVsComposition, OutputsAndAllGradientsAgree) {
  const FusedCase p = GetParam();
  const bool lstm = p.cell == RecurrentCell::lstm;
  const int64_t batch = 3, hidden = 5, gh = gates_of(p.cell) * hidden;
  Generator gen(7 + int(p.cell) * 10 + p.reverse);
  const Tensor x_gates = randn({p.steps, batch, gh}, gen), h0 = mul(randn({batch, hidden}, gen), 0.5),
               c0 = mul(randn({batch, hidden}, gen), 0.5), w_hh = mul(randn({gh, hidden}, gen), 0.4),
               b_hh = mul(randn({gh}, gen), 0.3);
  const Tensor g_out = randn({p.steps, batch, hidden}, gen), g_h = randn({batch, hidden}, gen),
               g_c = randn({batch, hidden}, gen);

  struct Run {
    nn::RecurrentSequence result;
    std::vector<Tensor> leaves;
  };
  auto run = [&](bool fused) {
    std::vector<Tensor> leaves;
    for (const Tensor& t : {x_gates, h0, c0, w_hh, b_hh}) leaves.push_back(t.clone().requires_grad_());
    Tensor c = lstm ? leaves[2] : Tensor(), b = p.bias ? leaves[4] : Tensor();
    nn::RecurrentSequence r = fused ? recurrent_sequence(p.cell, leaves[0], leaves[1], c, leaves[3], b, p.reverse)
                                    : step_by_step(p.cell, leaves[0], leaves[1], c, leaves[3], b, p.reverse);
    Tensor loss = add(sum(mul(r.output, g_out)), sum(mul(r.h_n, g_h)));
    if (lstm) loss = add(loss, sum(mul(r.c_n, g_c)));
    loss.backward();
    return Run{r, leaves};
  };
  Run fused = run(true), reference = run(false);
  expect_close("output", fused.result.output, reference.result.output);
  expect_close("h_n", fused.result.h_n, reference.result.h_n);
  if (lstm) expect_close("c_n", fused.result.c_n, reference.result.c_n);
  const char* names[] = {"d x_gates", "d h0", "d c0", "d w_hh", "d b_hh"};
  for (int i = 0; i < 5; ++i) {
    if ((i == 2 && !lstm) || (i == 4 && !p.bias)) continue;
    expect_close(names[i], fused.leaves[i].grad(), reference.leaves[i].grad());
  }
}

std::vector<FusedCase> fused_cases() {
  std::vector<FusedCase> cases;
  for (RecurrentCell cell : {RecurrentCell::lstm, RecurrentCell::gru, RecurrentCell::rnn_tanh, RecurrentCell::rnn_relu})
    for (bool reverse : {false, true}) cases.push_back({cell, reverse, true, 6});
  cases.push_back({RecurrentCell::lstm, false, false, 1});  // one step: only h0 feeds W_hh's gradient
  cases.push_back({RecurrentCell::gru, true, false, 1});
  cases.push_back({RecurrentCell::gru, false, true, 40});
  cases.push_back({RecurrentCell::lstm, true, true, 40});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cells, FusedVsComposition, ::testing::ValuesIn(fused_cases()), case_name);

// Large enough that the cell kernels split rows across threads and take the vector paths.
TEST(FusedRecurrent, WideLayerMatchesComposition) {
  Generator gen(11);
  for (RecurrentCell cell : {RecurrentCell::lstm, RecurrentCell::gru}) {
    const int64_t steps = 3, batch = 16, hidden = 150, gh = gates_of(cell) * hidden;
    const bool lstm = cell == RecurrentCell::lstm;
    Tensor x = randn({steps, batch, gh}, gen), h0 = randn({batch, hidden}, gen),
           c0 = lstm ? randn({batch, hidden}, gen) : Tensor(), w = mul(randn({gh, hidden}, gen), 0.08),
           b = randn({gh}, gen);
    Tensor g = randn({steps, batch, hidden}, gen);
    Tensor xf = x.clone().requires_grad_(), wf = w.clone().requires_grad_();
    Tensor xr = x.clone().requires_grad_(), wr = w.clone().requires_grad_();
    nn::RecurrentSequence fused = recurrent_sequence(cell, xf, h0, c0, wf, b);
    nn::RecurrentSequence reference = step_by_step(cell, xr, h0, c0, wr, b, false);
    sum(mul(fused.output, g)).backward();
    sum(mul(reference.output, g)).backward();
    expect_close("output", fused.output, reference.output);
    expect_close("d x_gates", xf.grad(), xr.grad());
    expect_close("d w_hh", wf.grad(), wr.grad());
  }
}

// A packed recurrent weight runs each thread over its own rows of the batch for the whole sequence
// (under 1 MB), or over its own hidden units with a barrier per step (over 1 MB). One thread and
// two must agree exactly on everything computed per row, and both with the composition: 37 rows
// split unevenly, 9 rows stay on one thread, 520 units split at a ragged edge.
TEST(FusedRecurrent, ThreadSlicesMatchOneThread) {
  const int threads_before = num_threads();
  Generator gen(12);
  for (RecurrentCell cell : {RecurrentCell::lstm, RecurrentCell::gru, RecurrentCell::rnn_tanh})
    // (steps, batch, reverse, hidden); at hidden 520 every cell's weight is over 1 MB: units 256 + 264.
    for (const auto& shape : std::vector<std::tuple<int64_t, int64_t, bool, int64_t>>{
             {4, 37, false, 40}, {4, 37, true, 40}, {8, 9, false, 40}, {8, 9, false, 520}, {9, 8, true, 520}}) {
      const int64_t steps = std::get<0>(shape), batch = std::get<1>(shape);
      const bool reverse = std::get<2>(shape);
      const int64_t hidden = std::get<3>(shape), gh = gates_of(cell) * hidden;
      const bool lstm = cell == RecurrentCell::lstm;
      const Tensor x = randn({steps, batch, gh}, gen), h0 = randn({batch, hidden}, gen),
                   c0 = randn({batch, hidden}, gen), w = mul(randn({gh, hidden}, gen), 0.15 * std::sqrt(40.0 / hidden)),
                   b = randn({gh}, gen), g = randn({steps, batch, hidden}, gen), g_c = randn({batch, hidden}, gen);
      auto run = [&](int threads, bool fused) {
        set_num_threads(threads);
        std::vector<Tensor> leaves;
        for (const Tensor& t : {x, h0, c0, w, b}) leaves.push_back(t.clone().requires_grad_());
        const Tensor c = lstm ? leaves[2] : Tensor();
        nn::RecurrentSequence r = fused
                                      ? recurrent_sequence(cell, leaves[0], leaves[1], c, leaves[3], leaves[4], reverse)
                                      : step_by_step(cell, leaves[0], leaves[1], c, leaves[3], leaves[4], reverse);
        Tensor loss = sum(mul(r.output, g));
        if (lstm) loss = add(loss, sum(mul(r.c_n, g_c)));
        loss.backward();
        std::vector<Tensor> results = {r.output, leaves[0].grad(), leaves[1].grad(), leaves[3].grad(),
                                       leaves[4].grad()};
        if (lstm) results.insert(results.end(), {r.c_n, leaves[2].grad()});
        return results;
      };
      const std::vector<Tensor> one = run(1, true), two = run(2, true), reference = run(1, false);
      const char* names[] = {"output", "d x_gates", "d h0", "d w_hh", "d b_hh", "c_n", "d c0"};
      for (size_t i = 0; i < one.size(); ++i) {
        const std::string what =
            std::string(kernels::recurrent_cell_name(cell)) + (reverse ? " reverse " : " ") + names[i];
        if (i != 3 && i != 4) {  // per-row results; the weight gradients are GEMMs over all rows
          EXPECT_EQ(one[i].to_vector<float>(), two[i].to_vector<float>()) << what;
        }
        // The composition sums its 520-long products in another order.
        const double atol = hidden > 100 ? 1e-5 : 1e-6;
        expect_close(what + " (one thread)", one[i], reference[i], 1e-5, atol);
        expect_close(what + " (two threads)", two[i], reference[i], 1e-5, atol);
      }
    }
  set_num_threads(threads_before);
}

// Without gradient recording the kernel keeps one step's activations in scratch instead of the
// whole sequence; the results must not change.
TEST(FusedRecurrent, InferenceMatchesTrainingForward) {
  Generator gen(5);
  for (RecurrentCell cell : {RecurrentCell::lstm, RecurrentCell::gru, RecurrentCell::rnn_tanh}) {
    const int64_t gh = gates_of(cell) * 6;
    const bool lstm = cell == RecurrentCell::lstm;
    Tensor x = randn({5, 2, gh}, gen), h0 = randn({2, 6}, gen), c0 = lstm ? randn({2, 6}, gen) : Tensor();
    Tensor w = mul(randn({gh, 6}, gen), 0.4).requires_grad_(), b = randn({gh}, gen);
    nn::RecurrentSequence train = recurrent_sequence(cell, x, h0, c0, w, b, true);
    ASSERT_TRUE(train.output.requires_grad());
    NoGradGuard no_grad;
    nn::RecurrentSequence infer = recurrent_sequence(cell, x, h0, c0, w, b, true);
    EXPECT_FALSE(infer.output.requires_grad());
    EXPECT_EQ(infer.output.to_vector<float>(), train.output.to_vector<float>());
    EXPECT_EQ(infer.h_n.to_vector<float>(), train.h_n.to_vector<float>());
    if (lstm) {
      EXPECT_EQ(infer.c_n.to_vector<float>(), train.c_n.to_vector<float>());
    }
  }
}

// Finite differences on every input of the fused op (they also run the inference path).
TEST(FusedRecurrent, Gradcheck) {
  for (RecurrentCell cell :
       {RecurrentCell::lstm, RecurrentCell::gru, RecurrentCell::rnn_tanh, RecurrentCell::rnn_relu}) {
    for (bool reverse : {false, true}) {
      Generator gen(3 + int(cell));
      const int64_t gh = gates_of(cell) * 3;
      const bool lstm = cell == RecurrentCell::lstm;
      std::vector<Tensor> inputs = {randn({4, 2, gh}, gen), mul(randn({2, 3}, gen), 0.5),
                                    lstm ? mul(randn({2, 3}, gen), 0.5) : Tensor(), mul(randn({gh, 3}, gen), 0.5),
                                    mul(randn({gh}, gen), 0.5)};
      auto f = [cell, reverse, lstm](const std::vector<Tensor>& in) {
        nn::RecurrentSequence r = recurrent_sequence(cell, in[0], in[1], in[2], in[3], in[4], reverse);
        return lstm ? cat({r.output.reshape({-1}), r.c_n.reshape({-1})}) : r.output;
      };
      GradcheckResult result = gradcheck(f, inputs);
      EXPECT_TRUE(result.ok) << kernels::recurrent_cell_name(cell) << (reverse ? " reverse: " : ": ") << result.message;
    }
  }
}

// The whole layer: two bidirectional layers, gradients to the input and the initial states.
TEST(FusedRecurrent, GradcheckThroughLayers) {
  manual_seed(21);
  nn::LSTM lstm(3, 4, {.num_layers = 2, .bidirectional = true});
  nn::GRU gru(3, 4, {.num_layers = 2, .batch_first = true, .bidirectional = true});
  Generator gen(8);
  std::vector<Tensor> lstm_inputs = {randn({4, 2, 3}, gen), randn({4, 2, 4}, gen), randn({4, 2, 4}, gen)};
  GradcheckResult a = gradcheck(
      [&](const std::vector<Tensor>& in) {
        nn::RecurrentOutput r = lstm.forward(in[0], in[1], in[2]);
        return cat({r.output.reshape({-1}), r.h_n.reshape({-1}), r.c_n.reshape({-1})});
      },
      lstm_inputs);
  EXPECT_TRUE(a.ok) << "LSTM: " << a.message;
  std::vector<Tensor> gru_inputs = {randn({2, 4, 3}, gen), randn({4, 2, 4}, gen)};
  GradcheckResult b = gradcheck(
      [&](const std::vector<Tensor>& in) {
        nn::RecurrentOutput r = gru.forward(in[0], in[1]);
        return cat({r.output.reshape({-1}), r.h_n.reshape({-1})});
      },
      gru_inputs);
  EXPECT_TRUE(b.ok) << "GRU: " << b.message;
}

TEST(FusedRecurrent, RecordsOneNodePerLayerAndDirection) {
  nn::GRU gru(4, 8);
  Tensor out = gru.forward(randn({50, 2, 4}));
  // output -> the fused GRU node -> linear (the input projection): no per-step nodes.
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->name(), "GRU");
  const auto& next = out.grad_fn()->next();
  ASSERT_EQ(next.size(), 5u);  // x_gates, h0, c0, w_hh, b_hh
  ASSERT_TRUE(next[0]);
  EXPECT_EQ(next[0]->name(), "linear");
}

TEST(FusedRecurrent, BadArgumentsAreErrors) {
  Tensor x = randn({3, 2, 8}), h = zeros({2, 2}), w = randn({8, 2});
  EXPECT_THROW(recurrent_sequence(RecurrentCell::lstm, x, h, Tensor(), w, Tensor()), Error);      // LSTM needs c0
  EXPECT_THROW(recurrent_sequence(RecurrentCell::gru, x, h, h, randn({6, 2}), Tensor()), Error);  // c0 on GRU
  EXPECT_THROW(recurrent_sequence(RecurrentCell::gru, x, h, Tensor(), w, Tensor()), Error);       // 8 != 3 * 2
  EXPECT_THROW(recurrent_sequence(RecurrentCell::lstm, x, zeros({3, 2}), h, w, Tensor()), Error);
  EXPECT_THROW(recurrent_sequence(RecurrentCell::lstm, x, h, h, w, zeros({7})), Error);
  EXPECT_THROW(recurrent_sequence(RecurrentCell::lstm, randn({0, 2, 8}), h, h, w, Tensor()), Error);
}

}  // namespace
}  // namespace nabla
