// Optimizer state dicts: the flat key format, exact resume (10 steps, save, load into a fresh
// optimizer, 10 more == 20 uninterrupted, bit for bit, also through a safetensors file), and
// load errors that list every problem at once.
#include <bit>
#include <filesystem>
#include <functional>

#include "optim_test_util.h"

namespace nabla::optim_test {
namespace {

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(const std::vector<Tensor>&)>;

struct ResumeCase {
  std::string name;
  MakeOptimizer make;
};

std::vector<ResumeCase> resume_cases() {
  using namespace optim;
  return {
      {"SGD",
       [](auto& p) { return std::make_unique<SGD>(p, SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true}); }},
      {"Adagrad",
       [](auto& p) {
         return std::make_unique<Adagrad>(
             p, AdagradOptions{.lr = 0.1, .lr_decay = 0.01, .initial_accumulator_value = 0.1});
       }},
      {"RMSprop",
       [](auto& p) {
         return std::make_unique<RMSprop>(p, RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});
       }},
      {"Adam",
       [](auto& p) {
         return std::make_unique<Adam>(p, AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"AdamW", [](auto& p) { return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.01}); }},
  };
}

// Deterministic gradients for step t; parameter 2 has none on some steps, so its state lags.
void set_grads(std::vector<Tensor>& params, int t) {
  Generator gen(1000 + t);
  for (size_t j = 0; j < params.size(); ++j)
    params[j].set_grad(j == 2 && t % 3 == 1 ? Tensor() : randn(params[j].shape(), gen));
}

std::vector<Tensor> fresh_params() {
  Generator gen(42);
  return {randn({8, 5}, gen).requires_grad_(), randn({5}, gen).requires_grad_(), randn({2, 3}, gen).requires_grad_()};
}

std::vector<Tensor> copies(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  for (const Tensor& p : params) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

class ResumeTest : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(ResumeTest, TenStepsSavedAndLoadedThenTenMoreEqualTwentyBitForBit) {
  const ResumeCase& c = GetParam();
  // Uninterrupted, with an lr change at step 5 (as a scheduler would make).
  std::vector<Tensor> a = fresh_params();
  auto opt_a = c.make(a);
  for (int t = 0; t < 20; ++t) {
    if (t == 5) opt_a->param_groups()[0].lr *= 0.5;
    set_grads(a, t);
    opt_a->step();
  }

  // Interrupted after 10 steps; the state goes through a safetensors file.
  std::vector<Tensor> b = fresh_params();
  auto opt_b = c.make(b);
  for (int t = 0; t < 10; ++t) {
    if (t == 5) opt_b->param_groups()[0].lr *= 0.5;
    set_grads(b, t);
    opt_b->step();
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / ("nabla_optim_resume_" + c.name + ".safetensors")).string();
  io::save_safetensors(path, opt_b->state_dict());
  const std::map<std::string, Tensor> saved = io::load_safetensors(path).tensors;
  std::filesystem::remove(path);

  std::vector<Tensor> resumed = copies(b);  // the weights come back from the model checkpoint
  auto opt_c = c.make(resumed);             // constructed with the original lr: the state dict restores the halved one
  opt_c->load_state_dict(saved);
  EXPECT_EQ(opt_c->param_groups()[0].lr, opt_b->param_groups()[0].lr);
  for (int t = 10; t < 20; ++t) {
    set_grads(resumed, t);
    opt_c->step();
  }
  for (size_t j = 0; j < a.size(); ++j) EXPECT_TRUE(bit_equal(resumed[j], a[j])) << c.name << " parameter " << j;
  EXPECT_EQ(opt_c->state_dict().size(), opt_a->state_dict().size());
}

INSTANTIATE_TEST_SUITE_P(Optimizers, ResumeTest, ::testing::ValuesIn(resume_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(StateDict, KeysFollowTheFlatFormat) {
  std::vector<Tensor> p = fresh_params();
  optim::Adam adam({optim::ParamGroup({p[0], p[1]}), optim::ParamGroup({p[2]}, 0.5)}, {.lr = 0.01, .amsgrad = true});
  for (int t = 0; t < 3; ++t) {
    p[0].set_grad(ones_like(p[0]));
    adam.step();
  }
  const std::map<std::string, Tensor> state = adam.state_dict();
  std::vector<std::string> keys;
  for (auto& [k, v] : state) keys.push_back(k);
  const std::vector<std::string> expected = {"group.0.amsgrad",
                                             "group.0.beta1",
                                             "group.0.beta2",
                                             "group.0.eps",
                                             "group.0.lr",
                                             "group.0.num_params",
                                             "group.0.weight_decay",
                                             "group.1.amsgrad",
                                             "group.1.beta1",
                                             "group.1.beta2",
                                             "group.1.eps",
                                             "group.1.lr",
                                             "group.1.num_params",
                                             "group.1.weight_decay",
                                             "state.0.0.exp_avg",
                                             "state.0.0.exp_avg_sq",
                                             "state.0.0.max_exp_avg_sq",
                                             "state.0.0.step"};
  EXPECT_EQ(keys, expected);  // p[1] and p[2] never had a gradient: no state
  EXPECT_EQ(optim::decode_double(state.at("group.0.lr"), "lr"), 0.01);
  EXPECT_EQ(optim::decode_double(state.at("group.1.lr"), "lr"), 0.5);
  EXPECT_EQ(optim::decode_int(state.at("group.0.num_params"), "n"), 2);
  EXPECT_EQ(optim::decode_int(state.at("state.0.0.step"), "step"), 3);
  EXPECT_EQ(state.at("state.0.0.exp_avg").shape(), p[0].shape());
  EXPECT_EQ(state.at("state.0.0.exp_avg").dtype(), DType::f32);
  EXPECT_EQ(state.at("group.0.lr").dtype(), DType::f64);  // F64 in the file: what other readers expect
  EXPECT_EQ(state.at("group.0.lr").dim(), 0);

  optim::SGD sgd(p, {.lr = 0.1});  // no momentum: no state at all, and SGD counts no steps
  p[0].set_grad(ones_like(p[0]));
  sgd.step();
  for (auto& [k, v] : sgd.state_dict()) EXPECT_EQ(k.rfind("group.0.", 0), 0u) << k;
}

TEST(StateDict, ScalarEncodingIsExact) {
  for (double v : {0.1, 1e-300, -3.5, 1.0 / 3.0, std::numeric_limits<double>::infinity(), 0.0}) {
    EXPECT_EQ(optim::decode_double(optim::encode_double(v), "x"), v);
  }
  EXPECT_TRUE(std::isnan(optim::decode_double(optim::encode_double(std::nan("")), "x")));
  EXPECT_EQ(optim::decode_double(scalar_tensor(0.25), "x"), 0.25);  // a plain f32 is taken as is
  // Checkpoints written before F64 hold the double's bits in an i64; they still load exactly.
  Tensor old_form = Tensor::empty({}, DType::i64);
  *old_form.data<int64_t>() = std::bit_cast<int64_t>(0.1);
  EXPECT_EQ(optim::decode_double(old_form, "lr"), 0.1);
  EXPECT_EQ(optim::decode_int(optim::encode_int(-7), "x"), -7);
  EXPECT_EQ(optim::decode_int(scalar_tensor(12.0), "x"), 12);  // PyTorch keeps steps as f32
  EXPECT_THROW(optim::decode_int(scalar_tensor(1.5), "x"), Error);
  EXPECT_THROW(optim::decode_double(zeros({2}), "x"), Error);
}

TEST(StateDict, LoadListsEveryProblemAndChangesNothing) {
  std::vector<Tensor> p = fresh_params();
  optim::Adam adam(p, {.lr = 0.01});
  for (Tensor& t : p) t.set_grad(ones_like(t));
  adam.step();
  std::map<std::string, Tensor> state = adam.state_dict();
  for (auto& [k, v] : state) v = v.clone();  // a snapshot, so the damage below stays here

  state.erase("state.0.1.exp_avg_sq");                 // missing
  state.erase("group.0.eps");                          // missing
  state["state.0.0.bogus"] = zeros({8, 5});            // unexpected buffer name
  state["state.0.3.exp_avg"] = zeros({1});             // parameter index out of range
  state["group.1.lr"] = optim::encode_double(0.1);     // group out of range
  state["junk"] = zeros({1});                          // not a key of the format
  state["state.0.2.exp_avg"] = zeros({3, 2});          // transposed shape
  state["group.0.num_params"] = optim::encode_int(4);  // a different model
  const std::vector<float> before = adam.state(0, 0).buffers.at("exp_avg").to_vector<float>();
  const std::vector<float> params_before = p[0].to_vector<float>();

  try {
    adam.load_state_dict(state);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const char* fragment :
         {"Adam::load_state_dict", "missing keys (2)", "state.0.1.exp_avg_sq", "group.0.eps", "unexpected keys (4)",
          "state.0.0.bogus", "state.0.3.exp_avg", "group.1.lr", "junk", "shape mismatches (2)",
          "state.0.2.exp_avg (state dict [3, 2], optimizer [2, 3])", "group.0.num_params (state dict 4, optimizer 3)"})
      EXPECT_NE(msg.find(fragment), std::string::npos) << "missing \"" << fragment << "\" in:\n" << msg;
  }
  EXPECT_EQ(adam.state(0, 0).buffers.at("exp_avg").to_vector<float>(), before);
  EXPECT_EQ(p[0].to_vector<float>(), params_before);
  EXPECT_EQ(adam.state(0, 0).step, 1);
}

TEST(StateDict, LoadRejectsInvalidValuesAndOtherOptimizers) {
  std::vector<Tensor> p = fresh_params();
  optim::Adam adam(p);
  std::map<std::string, Tensor> state = adam.state_dict();
  state["group.0.lr"] = optim::encode_double(-1.0);
  try {
    adam.load_state_dict(state);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid lr = -1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(adam.param_groups()[0].lr, 1e-3);

  optim::SGD sgd(p, {.lr = 0.1, .momentum = 0.9});
  for (Tensor& t : p) t.set_grad(ones_like(t));
  sgd.step();
  try {
    adam.load_state_dict(sgd.state_dict());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const char* fragment : {"group.0.beta1", "group.0.momentum", "state.0.0.momentum_buffer"})
      EXPECT_NE(msg.find(fragment), std::string::npos) << "missing \"" << fragment << "\" in:\n" << msg;
  }
}

TEST(StateDict, LoadedStateIsCopiedIn) {
  std::vector<Tensor> p = fresh_params();
  optim::SGD a(p, {.lr = 0.1, .momentum = 0.9});
  for (Tensor& t : p) t.set_grad(ones_like(t));
  a.step();
  std::map<std::string, Tensor> state = a.state_dict();
  std::vector<Tensor> q = copies(p);
  optim::SGD b(q, {.lr = 0.1, .momentum = 0.9});
  b.load_state_dict(state);
  state.at("state.0.0.momentum_buffer").fill_(123.0);  // the caller's tensors stay the caller's
  EXPECT_NE(b.state(0, 0).buffers.at("momentum_buffer").to_vector<float>()[0], 123.0f);
}

}  // namespace
}  // namespace nabla::optim_test
