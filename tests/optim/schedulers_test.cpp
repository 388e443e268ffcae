// LR schedules: PyTorch's lr (and cycled momentum) sequences from tests/golden/optim, exact resume
// from state dicts, and argument errors.
#include "optim_test_util.h"

namespace nabla::optim_test {
namespace {

struct Rig {
  std::vector<Tensor> params;
  std::unique_ptr<optim::Optimizer> optimizer;
};

// The golden's two-group optimizer: SGD(momentum 0.9) or Adam, one zero parameter per group.
Rig make_rig(const std::string& optimizer, const std::vector<double>& group_lrs) {
  Rig rig;
  std::vector<optim::ParamGroup> groups;
  for (double lr : group_lrs) {
    rig.params.push_back(zeros({1}).requires_grad_());
    groups.push_back(optim::ParamGroup({rig.params.back()}, lr));
  }
  if (optimizer == "sgd")
    rig.optimizer = std::make_unique<optim::SGD>(groups, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
  else
    rig.optimizer = std::make_unique<optim::Adam>(groups, optim::AdamOptions{.lr = 0.1});
  return rig;
}

std::vector<double> doubles(const json& v) {
  if (v.is_array()) return v.get<std::vector<double>>();
  return {v.get<double>()};
}

// A scheduler built from a golden case; `plateau` is set instead for ReduceLROnPlateau.
struct Scheduler {
  std::unique_ptr<optim::LRScheduler> scheduler;
  std::unique_ptr<optim::ReduceLROnPlateau> plateau;
};

Scheduler make_scheduler(const json& c, optim::Optimizer& opt) {
  const std::string kind = c.at("scheduler");
  const json& a = c.at("args");
  Scheduler s;
  if (kind == "StepLR") {
    s.scheduler = std::make_unique<optim::StepLR>(opt, a.at("step_size").get<int64_t>(), a.at("gamma").get<double>());
  } else if (kind == "ExponentialLR") {
    s.scheduler = std::make_unique<optim::ExponentialLR>(opt, a.at("gamma").get<double>());
  } else if (kind == "CosineWithWarmup") {
    s.scheduler = std::make_unique<optim::CosineWithWarmup>(
        opt, a.at("warmup_steps").get<int64_t>(), a.at("total_steps").get<int64_t>(), a.at("min_lr").get<double>());
  } else if (kind == "OneCycleLR") {
    optim::OneCycleOptions o;
    o.pct_start = a.value("pct_start", o.pct_start);
    o.div_factor = a.value("div_factor", o.div_factor);
    o.final_div_factor = a.value("final_div_factor", o.final_div_factor);
    o.base_momentum = a.value("base_momentum", o.base_momentum);
    o.max_momentum = a.value("max_momentum", o.max_momentum);
    o.three_phase = a.value("three_phase", o.three_phase);
    if (a.value("anneal_strategy", "cos") == "linear") o.anneal_strategy = optim::OneCycleOptions::Anneal::linear;
    std::vector<double> max_lrs = doubles(a.at("max_lr"));
    if (max_lrs.size() == 1) max_lrs.assign(opt.param_groups().size(), max_lrs[0]);
    s.scheduler = std::make_unique<optim::OneCycleLR>(opt, max_lrs, a.at("total_steps").get<int64_t>(), o);
  } else if (kind == "ReduceLROnPlateau") {
    using O = optim::ReduceLROnPlateauOptions;
    O o;
    if (a.value("mode", "min") == "max") o.mode = O::Mode::max;
    if (a.value("threshold_mode", "rel") == "abs") o.threshold_mode = O::ThresholdMode::abs;
    o.factor = a.value("factor", o.factor);
    o.patience = a.value("patience", o.patience);
    o.threshold = a.value("threshold", o.threshold);
    o.cooldown = a.value("cooldown", o.cooldown);
    o.min_lr = a.value("min_lr", o.min_lr);
    s.plateau = std::make_unique<optim::ReduceLROnPlateau>(opt, o);
  } else {
    ADD_FAILURE() << "unknown scheduler " << kind;
  }
  return s;
}

// One case of schedulers.safetensors; gtest prints just its name.
struct GoldenCase {
  json data;
  friend void PrintTo(const GoldenCase& c, std::ostream* out) { *out << c.data.at("name").get<std::string>(); }
};

std::vector<GoldenCase> golden_cases() {
  io::SafetensorsFile file = io::load_safetensors(golden_path("schedulers.safetensors"));
  std::vector<GoldenCase> cases;
  for (const json& c : json::parse(file.metadata.at("cases"))) cases.push_back({c});
  return cases;
}

double momentum_of(const optim::ParamGroup& g) {
  return g.options.count("beta1") ? g.options.at("beta1") : g.options.at("momentum");
}

class SchedulerGolden : public ::testing::TestWithParam<GoldenCase> {};

// Same formulas in the same order, but the compiler may fuse a * b + c into one FMA (one rounding
// fewer) where Python rounds twice, and LambdaLR scales the base lr by a factor where we compute
// the lr directly: a few ulps apart at most.
constexpr double kLrTolerance = 1e-14;

TEST_P(SchedulerGolden, MatchesPyTorchEveryStep) {
  const json& c = GetParam().data;
  Rig rig = make_rig(c.at("optimizer"), c.at("group_lrs").get<std::vector<double>>());
  Scheduler s = make_scheduler(c, *rig.optimizer);
  const std::vector<std::vector<double>> lrs = c.at("lrs");
  double max_rel = 0;
  for (size_t t = 0; t < lrs.size(); ++t) {
    if (t > 0) {
      if (s.plateau)
        s.plateau->step(c.at("metrics").at(t - 1).get<double>());
      else
        s.scheduler->step();
    }
    for (size_t g = 0; g < lrs[t].size(); ++g) {
      const double ours = rig.optimizer->param_groups()[g].lr, theirs = lrs[t][g];
      const double diff = std::abs(ours - theirs);
      if (theirs != 0) max_rel = std::max(max_rel, diff / std::abs(theirs));
      ASSERT_LE(diff, kLrTolerance * std::abs(theirs))
          << c.at("name") << " step " << t << " group " << g << ": " << ours << " vs " << theirs;
      if (c.contains("momentum")) {
        const double expected = c.at("momentum").at(t).at(g).get<double>();
        ASSERT_NEAR(momentum_of(rig.optimizer->param_groups()[g]), expected, kLrTolerance * expected)
            << c.at("name") << " momentum, step " << t << " group " << g;
      }
    }
    const std::vector<double>& last = s.plateau ? s.plateau->last_lr() : s.scheduler->last_lr();
    ASSERT_EQ(last.size(), lrs[t].size());
    EXPECT_EQ(last[0], rig.optimizer->param_groups()[0].lr);
  }
  if (s.scheduler) {
    EXPECT_EQ(s.scheduler->last_step(), int64_t(lrs.size() - 1));
  }
  std::printf("    %-32s %3zu steps, max rel diff %.2e\n", c.at("name").get<std::string>().c_str(), lrs.size() - 1,
              max_rel);
}

INSTANTIATE_TEST_SUITE_P(PyTorch, SchedulerGolden, ::testing::ValuesIn(golden_cases()),
                         [](const auto& info) { return info.param.data.at("name").template get<std::string>(); });

// Stop after 7 steps, save optimizer + scheduler, rebuild both, load, go on: the same lrs as
// without the interruption.
TEST(SchedulerState, ResumesExactly) {
  for (const GoldenCase& golden : golden_cases()) {
    const json& c = golden.data;
    const std::vector<double> group_lrs = c.at("group_lrs");
    const std::vector<std::vector<double>> lrs = c.at("lrs");
    Rig rig = make_rig(c.at("optimizer"), group_lrs);
    Scheduler s = make_scheduler(c, *rig.optimizer);
    auto step = [&](Scheduler& sched, size_t t) {
      if (sched.plateau)
        sched.plateau->step(c.at("metrics").at(t - 1).get<double>());
      else
        sched.scheduler->step();
    };
    for (size_t t = 1; t <= 7; ++t) step(s, t);
    const auto opt_state = rig.optimizer->state_dict();
    const auto sched_state = s.plateau ? s.plateau->state_dict() : s.scheduler->state_dict();

    Rig rig2 = make_rig(c.at("optimizer"), group_lrs);
    Scheduler s2 = make_scheduler(c, *rig2.optimizer);  // before the optimizer's state, as in PyTorch
    rig2.optimizer->load_state_dict(opt_state);
    if (s2.plateau)
      s2.plateau->load_state_dict(sched_state);
    else
      s2.scheduler->load_state_dict(sched_state);
    for (size_t t = 8; t < lrs.size(); ++t) {
      step(s, t);
      step(s2, t);
      for (size_t g = 0; g < group_lrs.size(); ++g)
        ASSERT_EQ(rig2.optimizer->param_groups()[g].lr, rig.optimizer->param_groups()[g].lr)
            << c.at("name") << " step " << t;
    }
  }
}

TEST(SchedulerState, LoadChecksKeys) {
  Rig rig = make_rig("sgd", {0.1, 0.2});
  optim::StepLR step_lr(*rig.optimizer, 3);
  auto state = step_lr.state_dict();
  EXPECT_EQ(optim::decode_int(state.at("last_step"), "last_step"), 0);
  EXPECT_EQ(optim::decode_double(state.at("base_lr.1"), "base_lr.1"), 0.2);
  state.erase("base_lr.1");
  state["extra"] = zeros({1});
  try {
    step_lr.load_state_dict(state);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const char* fragment :
         {"StepLR::load_state_dict", "missing keys (1): base_lr.1", "unexpected keys (1): extra"})
      EXPECT_NE(msg.find(fragment), std::string::npos) << "missing \"" << fragment << "\" in:\n" << msg;
  }
  optim::ReduceLROnPlateau plateau(*rig.optimizer);
  EXPECT_THROW(plateau.load_state_dict({}), Error);
}

TEST(Schedulers, StepsChangeTheLrTheOptimizerUses) {
  Tensor p = zeros({1}).requires_grad_();
  optim::SGD sgd({p}, {.lr = 1.0});
  optim::StepLR sched(sgd, 1, 0.5);
  for (float expected : {-1.0f, -1.5f, -1.75f}) {
    p.set_grad(ones({1}));
    sgd.step();
    sched.step();
    EXPECT_FLOAT_EQ(p.item<float>(), expected);
  }
}

template <typename F>
void expect_error(F f, const char* fragment) {
  try {
    f();
    ADD_FAILURE() << "expected a nabla::Error containing " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Schedulers, BadArgumentsAreErrors) {
  Rig rig = make_rig("sgd", {0.1});
  optim::Optimizer& opt = *rig.optimizer;
  expect_error([&] { optim::StepLR(opt, 0); }, "step_size");
  expect_error([&] { optim::ExponentialLR(opt, -0.5); }, "gamma");
  expect_error([&] { optim::CosineWithWarmup(opt, 20, 10); }, "total_steps");
  expect_error([&] { optim::CosineWithWarmup(opt, 0, 10, -1.0); }, "min_lr");
  expect_error([&] { optim::OneCycleLR(opt, 1.0, 0); }, "total_steps");
  expect_error([&] { optim::OneCycleLR(opt, std::vector<double>{1.0, 2.0}, 10); }, "max_lrs");
  expect_error([&] { optim::OneCycleLR(opt, 1.0, 10, {.pct_start = 1.5}); }, "pct_start");
  expect_error([&] { optim::ReduceLROnPlateau(opt, {.factor = 1.0}); }, "factor");
  expect_error([&] { optim::ReduceLROnPlateau(opt, {.patience = -1}); }, "patience");

  Tensor p = zeros({1}).requires_grad_();
  optim::Adagrad adagrad({p});
  expect_error([&] { optim::OneCycleLR(adagrad, 1.0, 10); }, "cycle_momentum");
  optim::OneCycleLR no_momentum(adagrad, 1.0, 10, {.cycle_momentum = false});
  for (int t = 0; t < 10; ++t) no_momentum.step();
  expect_error([&] { no_momentum.step(); }, "total_steps is 10");

  optim::StepLR sched(opt, 2);
  opt.add_param_group(optim::ParamGroup({zeros({1}).requires_grad_()}));
  expect_error([&] { sched.step(); }, "parameter groups");
}

}  // namespace
}  // namespace nabla::optim_test
