#include "nabla/optim/schedulers.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

namespace nabla::optim {
namespace {

void check_exact_keys(const std::string& what, const std::map<std::string, Tensor>& state,
                      const std::set<std::string>& expected) {
  std::vector<std::string> missing, unexpected;
  for (const std::string& key : expected)
    if (!state.count(key)) missing.push_back(key);
  for (auto& [key, t] : state)
    if (!expected.count(key)) unexpected.push_back(key);
  throw_if_state_mismatch(what, missing, unexpected);
}

}  // namespace

// ----------------------------------------------------------------------------- LRScheduler

LRScheduler::LRScheduler(std::string name, Optimizer& optimizer) : name_(std::move(name)), optimizer_(optimizer) {
  base_lrs_ = current_lrs();
}

std::vector<double> LRScheduler::current_lrs() const {
  std::vector<double> lrs;
  for (const ParamGroup& group : optimizer_.param_groups()) lrs.push_back(group.lr);
  return lrs;
}

void LRScheduler::initial_step() {
  last_step_ = 0;
  std::vector<double> lrs = compute_lrs(true);
  for (size_t g = 0; g < lrs.size(); ++g) optimizer_.param_groups()[g].lr = lrs[g];
  last_lr_ = current_lrs();
}

void LRScheduler::step() {
  NABLA_CHECK(optimizer_.param_groups().size() == base_lrs_.size(), name_, ": the optimizer has ",
              optimizer_.param_groups().size(), " parameter groups but had ", base_lrs_.size(),
              " when the scheduler was made; make a new scheduler after add_param_group()");
  ++last_step_;
  std::vector<double> lrs = compute_lrs(false);
  for (size_t g = 0; g < lrs.size(); ++g) optimizer_.param_groups()[g].lr = lrs[g];
  last_lr_ = current_lrs();
}

std::map<std::string, Tensor> LRScheduler::state_dict() const {
  std::map<std::string, Tensor> out;
  out["last_step"] = encode_int(last_step_);
  for (size_t g = 0; g < base_lrs_.size(); ++g) out["base_lr." + std::to_string(g)] = encode_double(base_lrs_[g]);
  for (size_t g = 0; g < last_lr_.size(); ++g) out["last_lr." + std::to_string(g)] = encode_double(last_lr_[g]);
  return out;
}

void LRScheduler::load_state_dict(const std::map<std::string, Tensor>& state) {
  const size_t groups = base_lrs_.size();
  std::set<std::string> expected = {"last_step"};
  for (size_t g = 0; g < groups; ++g) {
    expected.insert("base_lr." + std::to_string(g));
    expected.insert("last_lr." + std::to_string(g));
  }
  check_exact_keys(name_ + "::load_state_dict: the state dict does not fit this scheduler (" + std::to_string(groups) +
                       " parameter group(s))",
                   state, expected);
  const int64_t last_step = decode_int(state.at("last_step"), "last_step");
  NABLA_CHECK(last_step >= 0, name_, "::load_state_dict: last_step must be >= 0, got ", last_step);
  std::vector<double> base(groups), last(groups);
  for (size_t g = 0; g < groups; ++g) {
    base[g] = decode_double(state.at("base_lr." + std::to_string(g)), "base_lr." + std::to_string(g));
    last[g] = decode_double(state.at("last_lr." + std::to_string(g)), "last_lr." + std::to_string(g));
  }
  last_step_ = last_step;
  base_lrs_ = std::move(base);
  last_lr_ = std::move(last);
}

// ----------------------------------------------------------------------------- StepLR, ExponentialLR

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler("StepLR", optimizer), step_size_(step_size), gamma_(gamma) {
  NABLA_CHECK(step_size >= 1, "StepLR: step_size must be >= 1, got ", step_size);
  NABLA_CHECK(gamma >= 0, "StepLR: gamma must be >= 0, got ", gamma);
  initial_step();
}

std::vector<double> StepLR::compute_lrs(bool) {
  // PyTorch's recursive form: multiply the current lr, so changes made by others are kept.
  std::vector<double> lrs = current_lrs();
  if (last_step_ == 0 || last_step_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler("ExponentialLR", optimizer), gamma_(gamma) {
  NABLA_CHECK(gamma >= 0, "ExponentialLR: gamma must be >= 0, got ", gamma);
  initial_step();
}

std::vector<double> ExponentialLR::compute_lrs(bool initial) {
  std::vector<double> lrs = current_lrs();
  if (initial) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

// ----------------------------------------------------------------------------- CosineWithWarmup

CosineWithWarmup::CosineWithWarmup(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps, double min_lr)
    : LRScheduler("CosineWithWarmup", optimizer),
      warmup_steps_(warmup_steps),
      total_steps_(total_steps),
      min_lr_(min_lr) {
  NABLA_CHECK(warmup_steps >= 0, "CosineWithWarmup: warmup_steps must be >= 0, got ", warmup_steps);
  NABLA_CHECK(total_steps >= 1 && total_steps >= warmup_steps,
              "CosineWithWarmup: total_steps must be >= 1 and >= ", "warmup_steps (", warmup_steps, "), got ",
              total_steps);
  NABLA_CHECK(min_lr >= 0, "CosineWithWarmup: min_lr must be >= 0, got ", min_lr);
  initial_step();
}

std::vector<double> CosineWithWarmup::compute_lrs(bool) {
  const double s = double(last_step_);
  std::vector<double> lrs;
  for (double base : base_lrs_) {
    if (last_step_ < warmup_steps_) {
      lrs.push_back(base * s / double(warmup_steps_));
      continue;
    }
    const double progress = total_steps_ > warmup_steps_
                                ? std::min(1.0, (s - double(warmup_steps_)) / double(total_steps_ - warmup_steps_))
                                : 1.0;
    lrs.push_back(min_lr_ + (base - min_lr_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
  }
  return lrs;
}

// ----------------------------------------------------------------------------- OneCycleLR

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps, const OneCycleOptions& options)
    : OneCycleLR(optimizer, std::vector<double>(optimizer.param_groups().size(), max_lr), total_steps, options) {}

OneCycleLR::OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, int64_t total_steps,
                       const OneCycleOptions& options)
    : LRScheduler("OneCycleLR", optimizer), total_steps_(total_steps), options_(options), max_lrs_(std::move(max_lrs)) {
  NABLA_CHECK(total_steps >= 1, "OneCycleLR: total_steps must be a positive number of steps, got ", total_steps);
  NABLA_CHECK(max_lrs_.size() == optimizer.param_groups().size(), "OneCycleLR: got ", max_lrs_.size(), " max_lrs for ",
              optimizer.param_groups().size(), " parameter groups; give one per group");
  for (double m : max_lrs_) NABLA_CHECK(m >= 0, "OneCycleLR: max_lr must be >= 0, got ", m);
  NABLA_CHECK(options.pct_start >= 0 && options.pct_start <= 1, "OneCycleLR: pct_start must be in [0, 1], got ",
              options.pct_start);
  NABLA_CHECK(options.div_factor > 0 && options.final_div_factor > 0,
              "OneCycleLR: div_factor and final_div_factor must be > 0, got ", options.div_factor, " and ",
              options.final_div_factor);
  const double total = double(total_steps), pct = options.pct_start;
  const double base_m = options.base_momentum, max_m = options.max_momentum;
  if (options.three_phase) {
    phases_ = {{pct * total - 1, kInitial, kMax, max_m, base_m},
               {2 * pct * total - 2, kMax, kInitial, base_m, max_m},
               {total - 1, kInitial, kMin, max_m, max_m}};
  } else {
    phases_ = {{pct * total - 1, kInitial, kMax, max_m, base_m}, {total - 1, kMax, kMin, base_m, max_m}};
  }
  for (size_t g = 0; g < max_lrs_.size(); ++g) base_lrs_[g] = max_lrs_[g] / options.div_factor;
  if (options.cycle_momentum)
    for (ParamGroup& group : optimizer.param_groups()) group.options[momentum_option(group)] = max_m;
  initial_step();
}

const char* OneCycleLR::momentum_option(const ParamGroup& group) const {
  if (group.options.count("beta1")) return "beta1";
  if (group.options.count("momentum")) return "momentum";
  fail("OneCycleLR: cycle_momentum needs an optimizer with a \"momentum\" or \"beta1\" option, and ", optimizer_.name(),
       " has neither; set OneCycleOptions::cycle_momentum = false");
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy == OneCycleOptions::Anneal::linear) return (end - start) * pct + start;
  return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
}

std::vector<double> OneCycleLR::compute_lrs(bool) {
  NABLA_CHECK(last_step_ <= total_steps_, "OneCycleLR: stepped ", last_step_, " times but total_steps is ",
              total_steps_, "; make the scheduler with the run's real number of steps");
  const double step = double(last_step_);
  std::vector<double> lrs;
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    const double points[3] = {base_lrs_[g], max_lrs_[g], base_lrs_[g] / options_.final_div_factor};
    double start_step = 0.0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (step <= phase.end_step || i + 1 == phases_.size()) {
        const double pct = (step - start_step) / (phase.end_step - start_step);
        lrs.push_back(anneal(points[phase.start_lr], points[phase.end_lr], pct));
        if (options_.cycle_momentum) {
          ParamGroup& group = optimizer_.param_groups()[g];
          group.options[momentum_option(group)] = anneal(phase.start_momentum, phase.end_momentum, pct);
        }
        break;
      }
      start_step = phase.end_step;
    }
  }
  return lrs;
}

// ----------------------------------------------------------------------------- ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options)
    : optimizer_(optimizer), options_(options) {
  NABLA_CHECK(options.factor >= 0 && options.factor < 1, "ReduceLROnPlateau: factor must be in [0, 1), got ",
              options.factor);
  NABLA_CHECK(options.patience >= 0, "ReduceLROnPlateau: patience must be >= 0, got ", options.patience);
  NABLA_CHECK(options.cooldown >= 0, "ReduceLROnPlateau: cooldown must be >= 0, got ", options.cooldown);
  NABLA_CHECK(options.min_lr >= 0, "ReduceLROnPlateau: min_lr must be >= 0, got ", options.min_lr);
  NABLA_CHECK(options.threshold >= 0, "ReduceLROnPlateau: threshold must be >= 0, got ", options.threshold);
  best_ = options.mode == ReduceLROnPlateauOptions::Mode::min ? std::numeric_limits<double>::infinity()
                                                              : -std::numeric_limits<double>::infinity();
  for (const ParamGroup& group : optimizer.param_groups()) last_lr_.push_back(group.lr);
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  using O = ReduceLROnPlateauOptions;
  const bool rel = options_.threshold_mode == O::ThresholdMode::rel;
  if (options_.mode == O::Mode::min) return rel ? a < best * (1.0 - options_.threshold) : a < best - options_.threshold;
  return rel ? a > best * (options_.threshold + 1.0) : a > best + options_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_step_;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_steps_ = 0;
  } else {
    ++num_bad_steps_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_steps_ = 0;  // bad steps during cooldown do not count
  }
  if (num_bad_steps_ > options_.patience) {
    for (ParamGroup& group : optimizer_.param_groups()) {
      const double new_lr = std::max(group.lr * options_.factor, options_.min_lr);
      if (group.lr - new_lr > options_.eps) group.lr = new_lr;
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_steps_ = 0;
  }
  last_lr_.clear();
  for (const ParamGroup& group : optimizer_.param_groups()) last_lr_.push_back(group.lr);
}

std::map<std::string, Tensor> ReduceLROnPlateau::state_dict() const {
  return {{"last_step", encode_int(last_step_)},
          {"num_bad_steps", encode_int(num_bad_steps_)},
          {"cooldown_counter", encode_int(cooldown_counter_)},
          {"best", encode_double(best_)}};
}

void ReduceLROnPlateau::load_state_dict(const std::map<std::string, Tensor>& state) {
  const std::set<std::string> expected = {"last_step", "num_bad_steps", "cooldown_counter", "best"};
  check_exact_keys("ReduceLROnPlateau::load_state_dict: the state dict does not fit this scheduler", state, expected);
  const int64_t last_step = decode_int(state.at("last_step"), "last_step");
  const int64_t bad = decode_int(state.at("num_bad_steps"), "num_bad_steps");
  const int64_t cooldown = decode_int(state.at("cooldown_counter"), "cooldown_counter");
  const double best = decode_double(state.at("best"), "best");
  last_step_ = last_step;
  num_bad_steps_ = bad;
  cooldown_counter_ = cooldown;
  best_ = best;
}

}  // namespace nabla::optim
