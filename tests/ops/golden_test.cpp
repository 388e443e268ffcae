// Checks every op, forward and backward, against PyTorch: one test per golden file written by
// tests/golden/make_golden.py (the file format is described at the top of that script).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nabla/nabla.h"

#ifndef NABLA_GOLDEN_DIR
#error "NABLA_GOLDEN_DIR must name the directory of golden *.safetensors files (set it in CMake)"
#endif

namespace nabla {
namespace {

using json = nlohmann::json;
using Inputs = std::vector<Tensor>;
using OpFn = std::function<std::vector<Tensor>(const Inputs& inputs, const json& args)>;

// ----------------------------------------------------------------------------- argument helpers

Tensor optional_input(const Inputs& in, size_t i) { return i < in.size() ? in[i] : Tensor(); }

std::optional<double> optional_double(const json& value) {
  if (value.is_null()) return std::nullopt;
  return value.get<double>();
}

std::optional<int64_t> optional_int(const json& value) {
  if (value.is_null()) return std::nullopt;
  return value.get<int64_t>();
}

std::vector<int64_t> int_list(const json& value) { return value.get<std::vector<int64_t>>(); }

Pair pair_arg(const json& value) { return {value.at(0).get<int64_t>(), value.at(1).get<int64_t>()}; }

Pool2dOptions pool_options(const json& a) {
  Pool2dOptions options;
  options.kernel_size = pair_arg(a.at("kernel_size"));
  // null is PyTorch's stride=None; nabla spells that default {0, 0}.
  if (!a.at("stride").is_null()) options.stride = pair_arg(a.at("stride"));
  options.padding = pair_arg(a.at("padding"));
  options.ceil_mode = a.at("ceil_mode").get<bool>();
  if (a.contains("count_include_pad")) options.count_include_pad = a.at("count_include_pad").get<bool>();
  return options;
}

// ----------------------------------------------------------------------------- the dispatch table

OpFn unary(Tensor (*f)(const Tensor&)) {
  return [f](const Inputs& in, const json&) { return std::vector<Tensor>{f(in.at(0))}; };
}

OpFn binary(Tensor (*f)(const Tensor&, const Tensor&)) {
  return [f](const Inputs& in, const json&) { return std::vector<Tensor>{f(in.at(0), in.at(1))}; };
}

// The nabla meaning of each op name; make_golden.py's TORCH_OPS is the PyTorch side.
const std::map<std::string, OpFn>& op_table() {
  static const std::map<std::string, OpFn> table = {
      {"neg", unary(nabla::neg)},
      {"exp", unary(nabla::exp)},
      {"log", unary(nabla::log)},
      {"sqrt", unary(nabla::sqrt)},
      {"rsqrt", unary(nabla::rsqrt)},
      {"abs", unary(nabla::abs)},
      {"relu", unary(nabla::relu)},
      {"sigmoid", unary(nabla::sigmoid)},
      {"tanh", unary(nabla::tanh)},
      {"silu", unary(nabla::silu)},
      {"gelu",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{gelu(in.at(0), a.at("approximate").get<std::string>())};
       }},
      {"leaky_relu",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{leaky_relu(in.at(0), a.at("negative_slope").get<double>())};
       }},
      {"pow_scalar",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{pow(in.at(0), a.at("exponent").get<double>())};
       }},
      {"clamp",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{clamp(in.at(0), optional_double(a.at("min")), optional_double(a.at("max")))};
       }},

      {"add", binary(nabla::add)},
      {"sub", binary(nabla::sub)},
      {"mul", binary(nabla::mul)},
      {"div", binary(nabla::div)},
      {"maximum", binary(nabla::maximum)},
      {"minimum", binary(nabla::minimum)},
      {"pow", binary(nabla::pow)},
      {"where",
       [](const Inputs& in, const json&) { return std::vector<Tensor>{where(in.at(0), in.at(1), in.at(2))}; }},

      {"softmax",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{softmax(in.at(0), a.at("dim").get<int64_t>())};
       }},
      {"log_softmax",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{log_softmax(in.at(0), a.at("dim").get<int64_t>())};
       }},

      {"sum",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{sum(in.at(0), int_list(a.at("dims")), a.at("keepdim").get<bool>())};
       }},
      {"mean",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{mean(in.at(0), int_list(a.at("dims")), a.at("keepdim").get<bool>())};
       }},
      {"var",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{var(in.at(0), int_list(a.at("dims")), a.at("correction").get<int64_t>(),
                                        a.at("keepdim").get<bool>())};
       }},
      {"norm",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{
             norm(in.at(0), a.at("p").get<double>(), int_list(a.at("dims")), a.at("keepdim").get<bool>())};
       }},
      {"max_dim",
       [](const Inputs& in, const json& a) {
         ValuesIndices r = max(in.at(0), a.at("dim").get<int64_t>(), a.at("keepdim").get<bool>());
         return std::vector<Tensor>{r.values, r.indices};
       }},
      {"min_dim",
       [](const Inputs& in, const json& a) {
         ValuesIndices r = min(in.at(0), a.at("dim").get<int64_t>(), a.at("keepdim").get<bool>());
         return std::vector<Tensor>{r.values, r.indices};
       }},
      {"argmax",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{argmax(in.at(0), a.at("dim").get<int64_t>(), a.at("keepdim").get<bool>())};
       }},

      {"matmul", binary(nabla::matmul)},
      {"linear",
       [](const Inputs& in, const json&) {
         return std::vector<Tensor>{linear(in.at(0), in.at(1), optional_input(in, 2))};
       }},

      {"conv2d",
       [](const Inputs& in, const json& a) {
         Conv2dOptions options;
         options.stride = pair_arg(a.at("stride"));
         options.padding = pair_arg(a.at("padding"));
         options.dilation = pair_arg(a.at("dilation"));
         options.groups = a.at("groups").get<int64_t>();
         return std::vector<Tensor>{conv2d(in.at(0), in.at(1), optional_input(in, 2), options)};
       }},
      {"max_pool2d",
       [](const Inputs& in, const json& a) { return std::vector<Tensor>{max_pool2d(in.at(0), pool_options(a))}; }},
      {"relu_max_pool2d",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{relu_max_pool2d(in.at(0), pool_options(a))};
       }},
      {"avg_pool2d",
       [](const Inputs& in, const json& a) { return std::vector<Tensor>{avg_pool2d(in.at(0), pool_options(a))}; }},
      {"adaptive_avg_pool2d",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{adaptive_avg_pool2d(in.at(0), pair_arg(a.at("output_size")))};
       }},

      {"embedding",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{embedding(in.at(0), in.at(1), optional_int(a.at("padding_idx")))};
       }},
      {"layer_norm",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{layer_norm(in.at(0), int_list(a.at("normalized_shape")), optional_input(in, 1),
                                               optional_input(in, 2), a.at("eps").get<double>())};
       }},
      {"batch_norm",
       [](const Inputs& in, const json& a) {
         // The running stats are updated in place, so inputs 1 and 2 are the stats after the call.
         Tensor y = batch_norm(in.at(0), in.at(1), in.at(2), in.at(3), in.at(4), a.at("training").get<bool>(),
                               a.at("momentum").get<double>(), a.at("eps").get<double>());
         return std::vector<Tensor>{y, in.at(1), in.at(2)};
       }},

      {"cat", [](const Inputs& in, const json& a) { return std::vector<Tensor>{cat(in, a.at("dim").get<int64_t>())}; }},
      {"stack",
       [](const Inputs& in, const json& a) { return std::vector<Tensor>{stack(in, a.at("dim").get<int64_t>())}; }},
      {"split",
       [](const Inputs& in, const json& a) {
         return split(in.at(0), a.at("split_size").get<int64_t>(), a.at("dim").get<int64_t>());
       }},
      {"chunk",
       [](const Inputs& in, const json& a) {
         return chunk(in.at(0), a.at("chunks").get<int64_t>(), a.at("dim").get<int64_t>());
       }},
      {"index_select",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{index_select(in.at(0), a.at("dim").get<int64_t>(), in.at(1))};
       }},
      {"gather",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{gather(in.at(0), a.at("dim").get<int64_t>(), in.at(1))};
       }},

      {"mse_loss",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{mse_loss(in.at(0), in.at(1), a.at("reduction").get<std::string>())};
       }},
      {"binary_cross_entropy",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{binary_cross_entropy(in.at(0), in.at(1), optional_input(in, 2),
                                                         a.at("reduction").get<std::string>())};
       }},
      {"binary_cross_entropy_with_logits",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{binary_cross_entropy_with_logits(in.at(0), in.at(1), optional_input(in, 2),
                                                                     a.at("reduction").get<std::string>())};
       }},
      {"cross_entropy",
       [](const Inputs& in, const json& a) {
         CrossEntropyOptions options;
         options.ignore_index = a.at("ignore_index").get<int64_t>();
         options.label_smoothing = a.at("label_smoothing").get<double>();
         options.reduction = a.at("reduction").get<std::string>();
         return std::vector<Tensor>{cross_entropy(in.at(0), in.at(1), options)};
       }},
      {"nll_loss",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{nll_loss(in.at(0), in.at(1), a.at("ignore_index").get<int64_t>(),
                                             a.at("reduction").get<std::string>())};
       }},

      {"scaled_dot_product_attention",
       [](const Inputs& in, const json& a) {
         return std::vector<Tensor>{scaled_dot_product_attention(in.at(0), in.at(1), in.at(2), optional_input(in, 3),
                                                                 a.at("is_causal").get<bool>(),
                                                                 optional_double(a.at("scale")))};
       }},
  };
  return table;
}

// ----------------------------------------------------------------------------- tolerances

struct Tolerance {
  double rtol;
  double atol;
};

// The goldens are float64 results rounded to float32, so these bound nabla's own float32 error.
// Ops that accumulate many products (GEMM, convolution, attention) or whose gradients come from
// cancelling sums (normalisation, losses averaged over a batch) may differ from the exact result by
// several ulps of the largest partial sum, so they get an absolute tolerance of 1e-4.
bool accumulates_many_terms(const std::string& op) {
  static const char* const ops[] = {"matmul",      "linear",     "conv2d",        "scaled_dot_product_attention",
                                    "layer_norm",  "batch_norm", "var",           "norm",
                                    "mse_loss",    "nll_loss",   "cross_entropy", "binary_cross_entropy",
                                    "binary_cross_entropy_with_logits"};
  return std::find(std::begin(ops), std::end(ops), op) != std::end(ops);
}

Tolerance output_tolerance(const std::string& op) {
  return accumulates_many_terms(op) ? Tolerance{1e-5, 1e-4} : Tolerance{1e-5, 1e-5};
}

Tolerance grad_tolerance(const std::string& op) {
  return accumulates_many_terms(op) ? Tolerance{1e-4, 1e-4} : Tolerance{1e-4, 1e-5};
}

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
    return ::testing::AssertionFailure() << what << ": shape " << actual.shape() << ", expected "
                                         << expected.shape();
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
  return ::testing::AssertionFailure() << what << ": " << mismatches << " of " << e.size()
                                       << " elements differ (rtol " << tol.rtol << ", atol " << tol.atol
                                       << "); max abs diff " << max_abs_diff << "; worst at "
                                       << format_index(worst, expected.shape()) << ": " << a[worst]
                                       << " vs expected " << e[worst];
}

// ----------------------------------------------------------------------------- golden files

std::vector<std::string> golden_files() {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(NABLA_GOLDEN_DIR, error))
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());  // a stable order for test listings
  return files;
}

std::string case_name(const std::string& path) { return std::filesystem::path(path).stem().string(); }

// "output" for single-output ops, "output.<j>" for multi-output ones (same for grad_output).
std::string keyed(const std::string& base, size_t j, bool single) {
  return single ? base : base + "." + std::to_string(j);
}

const Tensor* find_tensor(const io::SafetensorsFile& file, const std::string& key) {
  auto it = file.tensors.find(key);
  return it == file.tensors.end() ? nullptr : &it->second;
}

Tensor apply_view(const Tensor& base, const json& view) {
  if (view.is_null()) return base;
  std::string kind = view.get<std::string>();
  if (kind == "transpose") return base.transpose(-1, -2);
  if (kind == "stride2") return base.slice(-1, 0, base.size(-1), 2);
  fail("golden test: unknown view '", kind, "'");
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesPyTorch) {
  const std::string name = case_name(GetParam());
  io::SafetensorsFile file = io::load_safetensors(GetParam());
  const std::string op = file.metadata.at("op");
  const json args = json::parse(file.metadata.at("args"));
  const json views = json::parse(file.metadata.at("views"));
  SCOPED_TRACE("case " + name + " (op " + op + ", args " + args.dump() + ", views " + views.dump() + ")");

  auto entry = op_table().find(op);
  ASSERT_TRUE(entry != op_table().end()) << "op '" << op << "' is missing from golden_test.cpp's dispatch table";

  // Inputs are viewed as PyTorch saw them; the viewed tensor is the leaf whose gradient we check.
  Inputs inputs;
  for (size_t i = 0; const Tensor* base = find_tensor(file, "input." + std::to_string(i)); ++i) {
    ASSERT_LT(i, views.size()) << "views lists fewer entries than there are inputs";
    Tensor input = apply_view(*base, views[i]);
    if (find_tensor(file, "grad_input." + std::to_string(i))) input.requires_grad_();
    inputs.push_back(input);
  }
  ASSERT_EQ(inputs.size(), views.size()) << "views lists more entries than there are inputs";

  std::vector<Tensor> outputs = entry->second(inputs, args);

  const bool single = find_tensor(file, "output") != nullptr;
  size_t expected_outputs = single ? 1 : 0;
  while (!single && find_tensor(file, "output." + std::to_string(expected_outputs))) ++expected_outputs;
  ASSERT_EQ(outputs.size(), expected_outputs) << "number of outputs";
  for (size_t j = 0; j < outputs.size(); ++j) {
    std::string key = keyed("output", j, single);
    EXPECT_TRUE(all_close(key, outputs[j], *find_tensor(file, key), output_tolerance(op)));
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
    EXPECT_TRUE(all_close("grad_input." + std::to_string(i), grad, *expected, grad_tolerance(op)));
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenTest, ::testing::ValuesIn(golden_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = case_name(info.param);
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
                           return name;
                         });

// An empty or missing directory would otherwise pass by running nothing.
TEST(GoldenFiles, DirectoryHoldsTheCases) {
  EXPECT_GE(golden_files().size(), 100u) << "too few golden files in " << NABLA_GOLDEN_DIR
                                         << "; regenerate them with python3 tests/golden/make_golden.py";
}

// Lists every unknown op in one place (each case also fails on its own), so a new op added to
// make_golden.py without a dispatch entry is obvious.
TEST(GoldenFiles, EveryFileNamesAKnownOp) {
  for (const std::string& path : golden_files()) {
    io::SafetensorsFile file = io::load_safetensors(path);
    auto op = file.metadata.find("op");
    ASSERT_TRUE(op != file.metadata.end()) << path << " has no 'op' metadata";
    EXPECT_TRUE(op_table().count(op->second)) << path << ": unknown op '" << op->second << "'";
  }
}

}  // namespace
}  // namespace nabla
