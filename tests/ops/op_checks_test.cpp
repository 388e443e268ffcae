// Every case of the op registry (op_registry.cpp), checked three ways from its golden file:
// forward and backward against PyTorch (the file written by tests/golden/make_golden.py), and the
// gradient against central finite differences at the same inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nabla/nabla.h"
#include "op_registry.h"

#ifndef NABLA_GOLDEN_DIR
#error "NABLA_GOLDEN_DIR must name the directory of golden *.safetensors files (set it in CMake)"
#endif

namespace nabla {
namespace {

using op_registry::json;
using op_registry::OpCase;
using op_registry::OpEntry;

struct Check {
  const OpEntry* entry;
  const OpCase* c;
};

std::vector<Check> all_cases() {
  std::vector<Check> checks;
  for (const OpEntry& e : op_registry::entries())
    for (const OpCase& c : e.cases) checks.push_back({&e, &c});
  return checks;
}

// The cases whose gradient is the derivative of their outputs.
std::vector<Check> differentiable_cases() {
  std::vector<Check> checks;
  for (const Check& c : all_cases())
    if (c.entry->differentiable && c.c->gradient_is_derivative) checks.push_back(c);
  return checks;
}

std::string golden_path(const std::string& name) { return std::string(NABLA_GOLDEN_DIR) + "/" + name + ".safetensors"; }

// ----------------------------------------------------------------------------- tolerances

struct Tolerance {
  double rtol;
  double atol;
};

// The goldens are float64 results rounded to float32, so these bound nabla's own float32 error.
// Ops that accumulate many products (GEMM, convolution, attention) or whose gradients come from
// cancelling sums (normalisation, losses averaged over a batch) may differ from the exact result by
// several ulps of the largest partial sum, so they get an absolute tolerance of 1e-4.
Tolerance output_tolerance(const OpEntry& e) { return e.many_terms ? Tolerance{1e-5, 1e-4} : Tolerance{1e-5, 1e-5}; }
Tolerance grad_tolerance(const OpEntry& e) { return e.many_terms ? Tolerance{1e-4, 1e-4} : Tolerance{1e-4, 1e-5}; }

// ----------------------------------------------------------------------------- comparison

std::string format_index(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (int d = shape.size() - 1; d >= 0; --d) {
    index[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  std::ostringstream out;
  out << '[';
  for (size_t d = 0; d < index.size(); ++d) out << (d ? ", " : "") << index[d];
  return out.str() + ']';
}

// Integer tensors (indices) must match exactly; float tensors within rtol/atol, elementwise.
::testing::AssertionResult all_close(const std::string& what, const Tensor& actual, const Tensor& expected,
                                     Tolerance tol) {
  if (!actual.defined()) return ::testing::AssertionFailure() << what << ": nabla gave an undefined tensor";
  if (!(actual.shape() == expected.shape()))
    return ::testing::AssertionFailure() << what << ": shape " << actual.shape() << ", expected " << expected.shape();
  if (actual.dtype() != expected.dtype())
    return ::testing::AssertionFailure() << what << ": dtype " << dtype_name(actual.dtype()) << ", expected "
                                         << dtype_name(expected.dtype());

  if (expected.dtype() == DType::i64) {
    std::vector<int64_t> a = actual.to_vector<int64_t>(), e = expected.to_vector<int64_t>();
    for (size_t i = 0; i < e.size(); ++i)
      if (a[i] != e[i])
        return ::testing::AssertionFailure() << what << ": first mismatch at " << format_index(i, expected.shape())
                                             << ": " << a[i] << " vs expected " << e[i];
    return ::testing::AssertionSuccess();
  }
  if (expected.dtype() != DType::f32)
    return ::testing::AssertionFailure() << what << ": unexpected golden dtype " << dtype_name(expected.dtype());

  std::vector<float> a = actual.to_vector<float>(), e = expected.to_vector<float>();
  int64_t mismatches = 0, worst = -1;
  double worst_excess = 0, max_abs_diff = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    double ai = a[i], ei = e[i];
    bool ok;
    double diff;
    if (std::isinf(ei)) {  // -inf log-probabilities and the like must match exactly
      ok = ai == ei;
      diff = ok ? 0 : INFINITY;
    } else {
      diff = std::fabs(ai - ei);  // NaN in `actual` fails: comparisons with NaN are false
      ok = diff <= tol.atol + tol.rtol * std::fabs(ei);
    }
    max_abs_diff = std::max(max_abs_diff, std::isnan(diff) ? double(INFINITY) : diff);
    if (!ok) {
      ++mismatches;
      double excess = std::isnan(diff) ? INFINITY : diff - (tol.atol + tol.rtol * std::fabs(ei));
      if (worst < 0 || excess > worst_excess) worst = int64_t(i), worst_excess = excess;
    }
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << mismatches << " of " << e.size() << " elements differ (rtol "
                                       << tol.rtol << ", atol " << tol.atol << "); max abs diff " << max_abs_diff
                                       << "; worst at " << format_index(worst, expected.shape()) << ": " << a[worst]
                                       << " vs expected " << e[worst];
}

// ----------------------------------------------------------------------------- golden files

// "output" for single-output ops, "output.<j>" for multi-output ones (same for grad_output).
std::string keyed(const std::string& base, size_t j, bool single) {
  return single ? base : base + "." + std::to_string(j);
}

const Tensor* find_tensor(const io::SafetensorsFile& file, const std::string& key) {
  auto it = file.tensors.find(key);
  return it == file.tensors.end() ? nullptr : &it->second;
}

Tensor apply_view(const Tensor& base, const std::string& view) {
  if (view.empty()) return base;
  if (view == "transpose") return base.transpose(-1, -2);
  if (view == "stride2") return base.slice(-1, 0, base.size(-1), 2);
  fail("op registry: unknown view '", view, "'");
}

// The stored (base) inputs of a golden file, in order.
std::vector<Tensor> stored_inputs(const io::SafetensorsFile& file) {
  std::vector<Tensor> inputs;
  for (size_t i = 0; const Tensor* base = find_tensor(file, "input." + std::to_string(i)); ++i) inputs.push_back(*base);
  return inputs;
}

std::string view_of(const OpCase& c, size_t i) { return i < c.views.size() ? c.views[i] : ""; }

bool takes_gradient(const OpEntry& e, size_t i, const Tensor& input) {
  if (!e.grad_inputs.empty())
    return std::find(e.grad_inputs.begin(), e.grad_inputs.end(), int(i)) != e.grad_inputs.end();
  return input.dtype() == DType::f32;
}

bool carries_gradient(const OpEntry& e, size_t j) {
  if (!e.differentiable) return false;
  return e.grad_outputs.empty() ||
         std::find(e.grad_outputs.begin(), e.grad_outputs.end(), int(j)) != e.grad_outputs.end();
}

void PrintTo(const Check& c, std::ostream* out) { *out << c.c->name; }

std::string test_name(const ::testing::TestParamInfo<Check>& info) {
  std::string name = info.param.c->name;
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') ch = '_';
  return name;
}

class OpGolden : public ::testing::TestWithParam<Check> {};

TEST_P(OpGolden, MatchesPyTorch) {
  const OpEntry& e = *GetParam().entry;
  const OpCase& c = *GetParam().c;
  ASSERT_TRUE(std::filesystem::exists(golden_path(c.name)))
      << golden_path(c.name) << " is missing; write it with `make golden`";
  io::SafetensorsFile file = io::load_safetensors(golden_path(c.name));
  EXPECT_EQ(file.metadata.at("op"), e.op) << "the golden file is of another op; rerun `make golden`";
  const json args = json::parse(c.args);
  SCOPED_TRACE("case " + c.name + " (op " + e.op + ", args " + args.dump() + ")");

  // Inputs are viewed as PyTorch saw them; the viewed tensor is the leaf whose gradient we check.
  std::vector<Tensor> inputs;
  for (const Tensor& base : stored_inputs(file)) {
    Tensor input = apply_view(base, view_of(c, inputs.size()));
    if (find_tensor(file, "grad_input." + std::to_string(inputs.size()))) input.requires_grad_();
    inputs.push_back(input);
  }
  ASSERT_EQ(inputs.size(), c.inputs.size()) << "the golden file holds a different number of inputs";

  std::vector<Tensor> outputs = e.nabla(inputs, args);
  const bool single = find_tensor(file, "output") != nullptr;
  size_t expected_outputs = single ? 1 : 0;
  while (!single && find_tensor(file, "output." + std::to_string(expected_outputs))) ++expected_outputs;
  ASSERT_EQ(outputs.size(), expected_outputs) << "number of outputs";
  for (size_t j = 0; j < outputs.size(); ++j) {
    std::string key = keyed("output", j, single);
    EXPECT_TRUE(all_close(key, outputs[j], *find_tensor(file, key), output_tolerance(e)));
  }

  // Backward from sum_j sum(output_j * grad_output_j): its gradient w.r.t. output_j is grad_output_j.
  Tensor total;
  for (size_t j = 0; j < outputs.size(); ++j) {
    const Tensor* grad_output = find_tensor(file, keyed("grad_output", j, single));
    if (!grad_output) continue;
    ASSERT_TRUE(outputs[j].requires_grad()) << keyed("output", j, single) << " is not connected to the graph";
    Tensor term = sum(mul(outputs[j], *grad_output));
    total = total.defined() ? add(total, term) : term;
  }
  if (!total.defined()) return;  // no differentiable outputs (argmax)
  total.backward();

  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor* expected = find_tensor(file, "grad_input." + std::to_string(i));
    if (!expected) continue;
    // PyTorch's "no gradient" (None) means zero, and the script stores zeros for it.
    Tensor grad = inputs[i].grad().defined() ? inputs[i].grad() : zeros_like(inputs[i]);
    EXPECT_TRUE(all_close("grad_input." + std::to_string(i), grad, *expected, grad_tolerance(e)));
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, OpGolden, ::testing::ValuesIn(all_cases()), test_name);

class OpFiniteDifferences : public ::testing::TestWithParam<Check> {};

TEST_P(OpFiniteDifferences, GradientMatches) {
  const OpEntry& e = *GetParam().entry;
  const OpCase& c = *GetParam().c;
  ASSERT_TRUE(std::filesystem::exists(golden_path(c.name))) << golden_path(c.name) << " is missing";
  io::SafetensorsFile file = io::load_safetensors(golden_path(c.name));
  const json args = json::parse(c.args);
  // The stored inputs are the leaves; the views are applied inside, so their backward is checked too.
  const std::vector<Tensor> bases = stored_inputs(file);
  GradcheckOptions options = c.gradcheck;
  options.check_input.clear();
  for (size_t i = 0; i < bases.size(); ++i) options.check_input.push_back(takes_gradient(e, i, bases[i]));
  auto f = [&](const std::vector<Tensor>& leaves) {
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < leaves.size(); ++i) inputs.push_back(apply_view(leaves[i], view_of(c, i)));
    std::vector<Tensor> outputs = e.nabla(inputs, args), flat;
    for (size_t j = 0; j < outputs.size(); ++j)
      if (carries_gradient(e, j)) flat.push_back(outputs[j].reshape({-1}));
    return flat.size() == 1 ? flat[0] : cat(flat, 0);
  };
  GradcheckResult r = gradcheck(f, bases, options);
  EXPECT_TRUE(r.ok) << c.name << ": " << r.message << " (max abs error " << r.max_abs_error << ")";
}

INSTANTIATE_TEST_SUITE_P(Ops, OpFiniteDifferences, ::testing::ValuesIn(differentiable_cases()), test_name);

// ----------------------------------------------------------------------------- the registry itself

TEST(OpRegistry, CaseNamesAreUniqueAndEveryGoldenFileIsACase) {
  std::set<std::string> names;
  for (const Check& c : all_cases()) EXPECT_TRUE(names.insert(c.c->name).second) << "duplicate case " << c.c->name;
  EXPECT_GE(names.size(), 250u) << "too few op cases";
  std::error_code error;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(NABLA_GOLDEN_DIR, error)) {
    if (entry.path().extension() != ".safetensors") continue;
    ++files;
    EXPECT_TRUE(names.count(entry.path().stem().string()))
        << entry.path() << " belongs to no registry case; rerun `make golden` (it removes stale files)";
  }
  EXPECT_EQ(files, int(names.size())) << "golden files in " << NABLA_GOLDEN_DIR;
}

TEST(OpRegistry, EveryCaseHasAnInputExpressionPerViewAndValidArgs) {
  for (const Check& c : all_cases()) {
    EXPECT_FALSE(c.c->inputs.empty()) << c.c->name;
    EXPECT_TRUE(c.c->views.empty() || c.c->views.size() == c.c->inputs.size()) << c.c->name << ": one view per input";
    EXPECT_TRUE(json::parse(c.c->args).is_object()) << c.c->name << ": args must be a JSON object";
    EXPECT_FALSE(c.entry->torch.empty()) << c.entry->op << " has no PyTorch twin";
  }
}

}  // namespace
}  // namespace nabla
