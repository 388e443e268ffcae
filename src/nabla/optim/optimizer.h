// Optimizer: the base of SGD, Adam and the rest. It owns parameter groups (each with its own lr,
// weight decay and options, which schedulers change between steps) and per-parameter state, and
// flattens both into a safetensors-ready map so a checkpoint can resume training exactly.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla::optim {

// A set of parameters trained with the same hyper-parameters. When building groups by hand, leave
// lr / weight_decay at kDefault and options without a key to take the optimizer's defaults.
struct ParamGroup {
  static constexpr double kDefault = std::numeric_limits<double>::quiet_NaN();

  std::vector<Tensor> params;
  double lr = kDefault;
  double weight_decay = kDefault;
  // The optimizer's other options by PyTorch's names ("momentum", "beta1", "eps", ...);
  // booleans ("nesterov", "amsgrad", "centered") are 0 or 1.
  std::map<std::string, double> options;

  ParamGroup() = default;
  explicit ParamGroup(std::vector<Tensor> params) : params(std::move(params)) {}
  ParamGroup(std::vector<Tensor> params, double lr, double weight_decay = kDefault,
             std::map<std::string, double> options = {})
      : params(std::move(params)), lr(lr), weight_decay(weight_decay), options(std::move(options)) {}

  // The option's value; an error naming the option if the group has none.
  double option(const std::string& name) const;
};

// What an optimizer keeps for one parameter between steps.
struct ParamState {
  int64_t step = 0;                       // updates applied so far (the optimizers that count them)
  std::map<std::string, Tensor> buffers;  // "exp_avg", "momentum_buffer", ...: f32, shaped like the parameter
  bool empty() const { return step == 0 && buffers.empty(); }
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient; parameters whose grad is undefined are
  // skipped (their state does not advance), as in PyTorch. Runs without recording a graph.
  void step();
  // Drops every gradient (PyTorch's set_to_none), so the next backward writes fresh ones.
  void zero_grad();

  const std::string& name() const { return name_; }
  // Mutable, so schedulers and users can change lr and options between steps; step() checks them.
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Appends a group; missing hyper-parameters take this optimizer's defaults.
  void add_param_group(ParamGroup group);

  // The state of parameter `index` of group `group` (empty before its first update).
  const ParamState& state(size_t group, size_t index) const;

  // Flat keys, ready for io::save_safetensors:
  //   "group.<g>.lr", "group.<g>.weight_decay", "group.<g>.<option>"  hyper-parameters (encode_double)
  //   "group.<g>.num_params"                                           i64, to catch a different model
  //   "state.<g>.<i>.<buffer>"                                          f32, shaped like the parameter
  //   "state.<g>.<i>.step"                                              i64 (optimizers that count steps)
  // State tensors are the live buffers, not copies: save them before the next step().
  std::map<std::string, Tensor> state_dict() const;
  // Restores hyper-parameters and state (copied in). Checks everything first and throws one
  // nabla::Error listing every missing, unexpected and mis-shaped key; on error nothing changes.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  // `defaults` holds every option the optimizer knows, including "lr" and "weight_decay".
  Optimizer(std::string name, std::map<std::string, double> defaults);
  // Called by the derived constructor's body (check_options is virtual, so not from ours).
  void add_initial_groups(std::vector<ParamGroup> groups);

  // Throws a nabla::Error naming the first invalid hyper-parameter of `group`.
  virtual void check_options(const ParamGroup& group) const = 0;
  // Updates one parameter in place from its gradient (both contiguous f32, same shape). The base
  // class has already counted the step and will bump the parameter's version afterwards.
  virtual void update(const ParamGroup& group, const Tensor& param, const Tensor& grad, ParamState& state) = 0;
  // The buffers a parameter's state must hold under these options, and every buffer it may hold.
  virtual std::vector<std::string> required_buffers(const ParamGroup& group) const = 0;
  virtual std::vector<std::string> known_buffers() const = 0;
  // Whether ParamState::step is meaningful (and saved); SGD's update does not depend on it.
  virtual bool counts_steps() const { return true; }

  // For check_options: fails with "<name>: invalid <option> = <value>: <rule>" unless ok.
  void check_option(bool ok, const char* option, double value, const char* rule) const;
  // A state buffer, created filled with `initial_value` the first time it is asked for.
  static Tensor& buffer(ParamState& state, const Tensor& param, const std::string& name, double initial_value = 0.0);

 private:
  void fill_defaults(ParamGroup& group) const;
  void check_group(const ParamGroup& group, size_t index) const;

  std::string name_;
  std::map<std::string, double> defaults_;
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<ParamState>> state_;  // [group][index], grown lazily with the groups
};

// Throws one nabla::Error headed `what` that lists every problem found while loading a state
// dict; does nothing when all lists are empty. Shared by optimizers and schedulers.
void throw_if_state_mismatch(const std::string& what, const std::vector<std::string>& missing,
                             const std::vector<std::string>& unexpected,
                             const std::vector<std::string>& mismatched = {},
                             const std::vector<std::string>& invalid = {});

// Hyper-parameters are doubles: a state dict stores each one exactly as a 0-d f64 tensor (F64 in
// optimizer.safetensors, readable by any safetensors reader).
Tensor encode_double(double value);
// Reads encode_double's format; also accepts the 0-d i64 holding the double's bit pattern that
// checkpoints before F64 stored, and a one-element f32 tensor holding the value itself.
double decode_double(const Tensor& t, const std::string& key);
// A 0-d i64 tensor and back (step counts); decode also accepts an integral f32 (PyTorch's steps).
Tensor encode_int(int64_t value);
int64_t decode_int(const Tensor& t, const std::string& key);

}  // namespace nabla::optim
