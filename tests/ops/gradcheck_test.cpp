// Every differentiable op's gradient against central finite differences, including broadcast
// and non-contiguous inputs. Inputs are kept away from kinks (relu at 0, abs at 0, ties).
#include <gtest/gtest.h>

#include "nabla/nabla.h"

using namespace nabla;

namespace {

struct GradCase {
  std::string name;
  std::function<Tensor(const std::vector<Tensor>&)> f;
  std::function<std::vector<Tensor>()> inputs;
  GradcheckOptions options{};
};

Generator& gen() {
  static Generator g(99);
  return g;
}
Tensor rn(const Shape& s) { return randn(s, gen()); }
Tensor positive(const Shape& s) { return add(rand(s, gen()), 0.5); }
// Values at least 0.1 away from zero, for functions with a kink at 0.
Tensor away_from_zero(const Shape& s) {
  Tensor x = rn(s);
  return add(x, mul(where(gt(x, zeros({})), ones({}), full({}, -1.0)), 0.1));
}
// Distinct values (no ties) for max/min/pooling.
Tensor distinct(const Shape& s) { return mul(randperm(s.numel(), gen()).to(DType::f32).reshape(s), 0.1); }

std::vector<GradCase> cases() {
  using V = std::vector<Tensor>;
  std::vector<GradCase> c;
  auto unary = [&](std::string name, auto fn, std::function<Tensor()> make) {
    c.push_back({name, [fn](const V& x) { return fn(x[0]); }, [make] { return V{make()}; }});
  };
  unary("neg", [](const Tensor& x) { return neg(x); }, [] { return rn({3, 5}); });
  unary("exp", [](const Tensor& x) { return exp(x); }, [] { return rn({3, 5}); });
  unary("log", [](const Tensor& x) { return log(x); }, [] { return positive({3, 5}); });
  unary("sqrt", [](const Tensor& x) { return sqrt(x); }, [] { return positive({7}); });
  unary("rsqrt", [](const Tensor& x) { return rsqrt(x); }, [] { return positive({7}); });
  unary("abs", [](const Tensor& x) { return abs(x); }, [] { return away_from_zero({7}); });
  unary("pow_scalar", [](const Tensor& x) { return pow(x, 2.5); }, [] { return positive({7}); });
  unary("clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.5); }, [] { return mul(away_from_zero({11}), 0.3); });
  unary("relu", [](const Tensor& x) { return relu(x); }, [] { return away_from_zero({4, 5}); });
  unary("leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, [] { return away_from_zero({4, 5}); });
  unary("sigmoid", [](const Tensor& x) { return sigmoid(x); }, [] { return rn({4, 5}); });
  unary("tanh", [](const Tensor& x) { return tanh(x); }, [] { return rn({4, 5}); });
  unary("silu", [](const Tensor& x) { return silu(x); }, [] { return rn({4, 5}); });
  unary("gelu", [](const Tensor& x) { return gelu(x); }, [] { return rn({4, 5}); });
  unary("gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }, [] { return rn({4, 5}); });
  unary("softmax_last", [](const Tensor& x) { return softmax(x, -1); }, [] { return rn({3, 7}); });
  unary("softmax_middle", [](const Tensor& x) { return softmax(x, 1); }, [] { return rn({2, 5, 3}); });
  unary("log_softmax", [](const Tensor& x) { return log_softmax(x, 0); }, [] { return rn({5, 3}); });
  unary("sum_dims", [](const Tensor& x) { return sum(x, {0, 2}); }, [] { return rn({2, 3, 4}); });
  unary("mean_keepdim", [](const Tensor& x) { return mean(x, {1}, true); }, [] { return rn({2, 3, 4}); });
  unary("var", [](const Tensor& x) { return var(x, {1}); }, [] { return rn({3, 6}); });
  unary("norm", [](const Tensor& x) { return norm(x, 2.0, {1}); }, [] { return rn({3, 6}); });
  unary("norm_p3", [](const Tensor& x) { return norm(x, 3.0); }, [] { return away_from_zero({6}); });
  unary("max_dim", [](const Tensor& x) { return max(x, 1).values; }, [] { return distinct({3, 5}); });
  unary("min_dim", [](const Tensor& x) { return min(x, 0, true).values; }, [] { return distinct({3, 5}); });
  unary("transpose_contiguous", [](const Tensor& x) { return mul(x.t(), x.t()); }, [] { return rn({3, 4}); });
  unary("slice_select", [](const Tensor& x) { return mul(x.slice(1, 0, 5, 2), 2.0).select(0, 1); },
        [] { return rn({3, 5}); });
  unary("expand", [](const Tensor& x) { return mul(x.expand({4, 3}), x.expand({4, 3})); }, [] { return rn({3}); });
  unary("reshape_permute", [](const Tensor& x) { return x.permute({2, 0, 1}).reshape({4, 6}); }, [] { return rn({2, 3, 4}); });
  unary("max_pool2d", [](const Tensor& x) { return max_pool2d(x, {{2, 2}, {2, 2}, {0, 0}}); },
        [] { return distinct({2, 2, 5, 5}); });
  unary("relu_max_pool2d", [](const Tensor& x) { return relu_max_pool2d(x, {{2, 2}, {2, 2}, {0, 0}}); },
        [] { return add(distinct({2, 2, 5, 5}), -4.95); });  // both signs, none within 0.05 of the kink
  unary("avg_pool2d", [](const Tensor& x) { return avg_pool2d(x, {{3, 3}, {2, 2}, {1, 1}, false, false}); },
        [] { return rn({1, 2, 5, 6}); });
  unary("adaptive_avg_pool2d", [](const Tensor& x) { return adaptive_avg_pool2d(x, {3, 2}); },
        [] { return rn({1, 2, 7, 5}); });
  unary("dropout_eval", [](const Tensor& x) { return dropout(x, 0.5, false); }, [] { return rn({5}); });

  auto binary = [&](std::string name, auto fn, std::function<V()> make) {
    c.push_back({name, [fn](const V& x) { return fn(x[0], x[1]); }, make});
  };
  binary("add_broadcast", [](const Tensor& a, const Tensor& b) { return add(a, b); }, [] { return V{rn({3, 1, 5}), rn({4, 1})}; });
  binary("sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, [] { return V{rn({3, 5}), rn({5})}; });
  binary("mul_broadcast", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, [] { return V{rn({3, 5}), rn({3, 1})}; });
  binary("div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, [] { return V{rn({3, 5}), positive({5})}; });
  binary("maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, [] { return V{distinct({3, 4}), add(distinct({3, 4}), 0.05)}; });
  binary("minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, [] { return V{distinct({3, 4}), add(distinct({3, 4}), 0.05)}; });
  binary("pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, [] { return V{positive({3, 4}), rn({4})}; });
  binary("matmul_2d", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, [] { return V{rn({3, 4}), rn({4, 5})}; });
  binary("matmul_batched_broadcast", [](const Tensor& a, const Tensor& b) { return matmul(a, b); },
         [] { return V{rn({2, 1, 3, 4}), rn({3, 4, 2})}; });
  binary("matmul_transposed", [](const Tensor& a, const Tensor& b) { return matmul(a.t(), b.t()); },
         [] { return V{rn({4, 3}), rn({5, 4})}; });
  binary("matmul_vector", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, [] { return V{rn({4}), rn({4, 3})}; });
  // Past the inline-kernel threshold, so oneDNN runs; linear, so a large eps is exact.
  binary("matmul_large", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, [] { return V{rn({36, 29}), rn({29, 35})}; });
  c.back().options.eps = 0.05;
  binary("mse_loss", [](const Tensor& a, const Tensor& b) { return mse_loss(a, b); }, [] { return V{rn({4, 3}), rn({4, 3})}; });
  binary("gather", [](const Tensor& a, const Tensor& i) { return gather(a, 1, i); },
         [] { return V{rn({3, 4}), tensor_i64({0, 3, 3, 1, 2, 0}, {3, 2})}; });
  binary("index_select", [](const Tensor& a, const Tensor& i) { return index_select(a, 0, i); },
         [] { return V{rn({4, 3}), tensor_i64({3, 0, 3})}; });
  binary("embedding", [](const Tensor& i, const Tensor& w) { return embedding(i, w, 3); },
         [] { return V{tensor_i64({0, 1, 2, 2}, {2, 2}), rn({4, 3})}; });
  binary("cross_entropy", [](const Tensor& x, const Tensor& t) { return cross_entropy(x, t); },
         [] { return V{rn({5, 4}), tensor_i64({0, 3, 1, 1, 2})}; });
  binary("cross_entropy_smooth_ignore",
         [](const Tensor& x, const Tensor& t) { return cross_entropy(x, t, {2, 0.1, "sum"}); },
         [] { return V{rn({5, 4}), tensor_i64({0, 3, 2, 1, 2})}; });
  binary("cross_entropy_spatial", [](const Tensor& x, const Tensor& t) { return cross_entropy(x, t, {-100, 0.0, "none"}); },
         [] { return V{rn({2, 3, 4}), tensor_i64({0, 1, 2, 1, 1, 0, 2, 2}, {2, 4})}; });
  binary("cross_entropy_probs", [](const Tensor& x, const Tensor& p) { return cross_entropy(x, p); },
         [] { return V{rn({3, 4}), softmax(rn({3, 4}), 1)}; });
  c.back().options.check_input = {true, false};  // probability targets are constants here
  binary("nll_loss", [](const Tensor& x, const Tensor& t) { return nll_loss(x, t); },
         [] { return V{rn({4, 3}), tensor_i64({0, 2, 1, 2})}; });
  binary("bce", [](const Tensor& p, const Tensor& y) { return binary_cross_entropy(p, y); },
         [] { return V{add(mul(rand({6}, gen()), 0.8), 0.1), rand({6}, gen())}; });
  binary("bce_logits", [](const Tensor& x, const Tensor& y) { return binary_cross_entropy_with_logits(x, y); },
         [] { return V{rn({6}), rand({6}, gen())}; });
  c.back().options.check_input = {true, false};
  c[c.size() - 2].options.check_input = {true, false};

  c.push_back({"where", [](const V& x) { return where(gt(x[2], zeros({})), x[0], x[1]); },
               [] { return V{rn({3, 4}), rn({4}), rn({3, 4})}; }});
  c.back().options.check_input = {true, true, false};
  c.push_back({"linear", [](const V& x) { return linear(x[0], x[1], x[2]); }, [] { return V{rn({2, 3, 4}), rn({5, 4}), rn({5})}; }});
  c.push_back({"conv2d", [](const V& x) { return conv2d(x[0], x[1], x[2], {{1, 1}, {1, 1}, {1, 1}, 1}); },
               [] { return V{rn({2, 3, 5, 5}), rn({4, 3, 3, 3}), rn({4})}; }});
  c.push_back({"conv2d_stride_dilation_groups", [](const V& x) { return conv2d(x[0], x[1], Tensor(), {{2, 1}, {1, 0}, {1, 2}, 2}); },
               [] { return V{rn({1, 4, 6, 7}), rn({2, 2, 3, 2})}; }});
  // Convolution is linear in each input, so a central difference is exact at any step and only
  // f32 rounding of the ~27-term outputs is left: with eps 1e-3 that noise (about 1e-3 here) sat at
  // the tolerance, and which side of it depended on the CPU's oneDNN kernel (AVX2 vs AVX-512
  // accumulation order). A 1e-2 step divides it by ten.
  c[c.size() - 2].options.eps = 1e-2;
  c.back().options.eps = 1e-2;
  c.push_back({"layer_norm", [](const V& x) { return layer_norm(x[0], {4}, x[1], x[2]); },
               [] { return V{rn({3, 4}), rn({4}), rn({4})}; }});
  c.push_back({"batch_norm_train", [](const V& x) { return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true); },
               [] { return V{rn({4, 3, 2, 2}), rn({3}), rn({3})}; }});
  c.push_back({"cat", [](const V& x) { return cat({x[0], x[1]}, 1); }, [] { return V{rn({2, 3}), rn({2, 2})}; }});
  c.push_back({"stack", [](const V& x) { return stack({x[0], x[1]}, 0); }, [] { return V{rn({2, 3}), rn({2, 3})}; }});
  c.push_back({"split", [](const V& x) { auto p = split(x[0], 2, 1); return mul(p[0], p[1]); }, [] { return V{rn({3, 4})}; }});
  c.push_back({"attention", [](const V& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); },
               [] { return V{rn({2, 3, 5, 4}), rn({2, 3, 6, 4}), rn({2, 3, 6, 3})}; }});
  c.push_back({"attention_causal", [](const V& x) { return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), true); },
               [] { return V{rn({1, 2, 70, 8}), rn({1, 2, 70, 8}), rn({1, 2, 70, 8})}; }});
  c.push_back({"self_attention_heads", [](const V& x) { return self_attention_heads(x[0], 2, true); },
               [] { return V{rn({2, 70, 24})}; }});
  c.push_back({"self_attention_heads_time_major", [](const V& x) { return self_attention_heads(x[0], 3, false, true); },
               [] { return V{rn({5, 2, 18})}; }});
  c.push_back({"attention_mask", [](const V& x) {
                 return scaled_dot_product_attention(x[0], x[1], x[2], gt(tensor({1, 1, 0, 1, 1}), zeros({})));
               },
               [] { return V{rn({2, 3, 4}), rn({2, 5, 4}), rn({2, 5, 4})}; }});
  return c;
}

class Gradcheck : public ::testing::TestWithParam<GradCase> {};
void PrintTo(const GradCase& c, std::ostream* out) { *out << c.name; }

}  // namespace

TEST_P(Gradcheck, MatchesFiniteDifferences) {
  const GradCase& c = GetParam();
  GradcheckResult r = gradcheck(c.f, c.inputs(), c.options);
  EXPECT_TRUE(r.ok) << c.name << ": " << r.message << " (max abs error " << r.max_abs_error << ")";
}

INSTANTIATE_TEST_SUITE_P(Ops, Gradcheck, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<GradCase>& info) { return info.param.name; });
