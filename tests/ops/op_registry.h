// The op test registry: one entry per differentiable op, holding nabla's call, its PyTorch twin and
// the cases to try it on. One entry drives every check of the op (tests/ops/op_checks_test.cpp):
// forward and backward against the PyTorch golden file of each case, and the gradient against
// finite differences at the same inputs. tests/golden/make_golden.py reads the same list (through
// the op_registry_dump program) to write those golden files, so adding an op is one entry here and
// `make golden`.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nabla/autograd/gradcheck.h"
#include "nabla/core/tensor.h"

namespace nabla::op_registry {

using json = nlohmann::json;
using Inputs = std::vector<Tensor>;
using Outputs = std::vector<Tensor>;

struct OpCase {
  std::string name = "";  // the golden file's stem; unique over the registry
  // How the golden maker draws each input, as a Python expression over its helpers (randn,
  // positive, away_from_zero, distinct, uniform, indices, ...; see make_golden.py), evaluated in
  // order under the case's own seed.
  std::vector<std::string> inputs = {};
  std::string args = "{}";              // JSON object: the op's arguments (the order is kept in the file)
  std::vector<std::string> views = {};  // per input: "" (as stored), "transpose" (last two dims) or "stride2"
  GradcheckOptions gradcheck = {};      // the finite-difference step and tolerances at these inputs
  // false where the op's gradient is defined to differ from the derivative (embedding's padding
  // row gets none): the golden file still checks it, finite differences cannot.
  bool gradient_is_derivative = true;
};

struct OpEntry {
  std::string op = "";
  // The PyTorch twin: a Python expression in x (the inputs, float64 and viewed) and a (the args),
  // evaluated by make_golden.py with torch, F (torch.nn.functional) and its helpers in scope.
  std::string torch = "";
  std::function<Outputs(const Inputs& x, const json& a)> nabla = {};
  std::vector<int> grad_inputs = {};   // inputs that get gradients; empty: every floating-point input
  bool multi_output = false;           // the twin returns a list of tensors
  std::vector<int> grad_outputs = {};  // multi-output ops: the outputs that carry a gradient (empty: all)
  bool differentiable = true;          // false: the outputs are integers (argmax), no gradient to check
  // Sums of many products or cancelling terms (GEMM, convolution, attention, norms, batch losses):
  // checked with an absolute tolerance of 1e-4 instead of 1e-5.
  bool many_terms = false;
  std::vector<OpCase> cases = {};
};

const std::vector<OpEntry>& entries();
// The entry of a golden case's op, or null.
const OpEntry* find(const std::string& op);
// The registry as JSON for the golden maker: [{op, torch, grad_inputs, multi_output, grad_outputs,
// differentiable, cases: [{name, inputs, args, views}]}].
json to_json();

}  // namespace nabla::op_registry
