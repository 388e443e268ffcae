// The op test registry (op_registry.h): every differentiable op, its PyTorch twin and its cases.
// To add an op: one entry below (the nabla call, the twin, the cases), then `make golden`.
#include "op_registry.h"

#include <optional>

#include "nabla/nabla.h"

namespace nabla::op_registry {
namespace {

// ----------------------------------------------------------------------------- argument readers

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

// "fn(4, 5)" for a maker and a shape; extra arguments follow the dimensions.
std::string call(const std::string& fn, std::vector<int64_t> shape, const std::string& extra = "") {
  std::string text = fn + "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  if (!extra.empty()) text += (shape.empty() ? "" : ", ") + extra;
  return text + ")";
}

Outputs one(const Tensor& t) { return {t}; }

// The cross-entropy losses' arguments: {"reduction", "ignore_index", "label_smoothing"}.
CrossEntropyOptions cross_entropy_options(const json& a) {
  CrossEntropyOptions options;
  options.ignore_index = a.at("ignore_index").get<int64_t>();
  options.label_smoothing = a.at("label_smoothing").get<double>();
  options.reduction = a.at("reduction").get<std::string>();
  return options;
}
std::string cross_entropy_args(const std::string& reduction, int ignore_index, const std::string& smoothing) {
  return R"({"reduction": ")" + reduction + R"(", "ignore_index": )" + std::to_string(ignore_index) +
         R"(, "label_smoothing": )" + smoothing + "}";
}

// ----------------------------------------------------------------------------- element-wise

void add_unary(std::vector<OpEntry>& r) {
  auto unary = [&](const std::string& op, const std::string& torch, Tensor (*f)(const Tensor&),
                   std::vector<OpCase> cases) {
    r.push_back({.op = op,
                 .torch = torch,
                 .nabla = [f](const Inputs& x, const json&) { return one(f(x.at(0))); },
                 .cases = std::move(cases)});
  };
  unary("neg", "torch.neg(x[0])", nabla::neg, {{"neg_basic", {"randn(3, 5)"}}, {"neg_scalar", {"randn()"}}});
  unary("exp", "torch.exp(x[0])", nabla::exp,
        {{"exp_basic", {"randn(4, 7)"}}, {"exp_transpose", {"randn(3, 5)"}, "{}", {"transpose"}}});
  unary("log", "torch.log(x[0])", nabla::log, {{"log_basic", {"positive(3, 7, low=0.1, high=5.0)"}}});
  unary("sqrt", "torch.sqrt(x[0])", nabla::sqrt,
        {{"sqrt_basic", {"positive(5, 3, low=0.1, high=4.0)"}},
         {"sqrt_stride2", {"positive(3, 10, low=0.1, high=4.0)"}, "{}", {"stride2"}}});
  unary("rsqrt", "torch.rsqrt(x[0])", nabla::rsqrt, {{"rsqrt_basic", {"positive(2, 3, 5, low=0.2, high=4.0)"}}});
  unary("abs", "torch.abs(x[0])", nabla::abs, {{"abs_basic", {"away_from_zero(5, 7)"}}});
  unary("relu", "torch.relu(x[0])", nabla::relu,
        {{"relu_basic", {"away_from_zero(4, 9)"}}, {"relu_stride2", {"away_from_zero(3, 14)"}, "{}", {"stride2"}}});
  unary("sigmoid", "torch.sigmoid(x[0])", nabla::sigmoid, {{"sigmoid_basic", {"randn(3, 7) * 3"}}});
  unary("tanh", "torch.tanh(x[0])", nabla::tanh,
        {{"tanh_basic", {"randn(7, 3) * 2"}}, {"tanh_transpose", {"randn(2, 3, 5)"}, "{}", {"transpose"}}});
  unary("silu", "F.silu(x[0])", nabla::silu, {{"silu_basic", {"randn(5, 5) * 3"}}, {"silu_1d", {"randn(13)"}}});

  r.push_back({.op = "gelu",
               .torch = "F.gelu(x[0], approximate=a['approximate'])",
               .nabla = [](const Inputs& x, const json& a) { return one(gelu(x.at(0), a.at("approximate"))); },
               .cases = {{"gelu_exact", {"randn(4, 7) * 2"}, R"({"approximate": "none"})"},
                         {"gelu_tanh", {"randn(4, 7) * 2"}, R"({"approximate": "tanh"})"},
                         {"gelu_exact_transpose", {"randn(3, 6)"}, R"({"approximate": "none"})", {"transpose"}}}});
  r.push_back({.op = "leaky_relu",
               .torch = "F.leaky_relu(x[0], a['negative_slope'])",
               .nabla = [](const Inputs& x,
                           const json& a) { return one(leaky_relu(x.at(0), a.at("negative_slope").get<double>())); },
               .cases = {{"leaky_relu_basic", {"away_from_zero(5, 6)"}, R"({"negative_slope": 0.2})"},
                         {"leaky_relu_default_slope", {"away_from_zero(3, 3, 3)"}, R"({"negative_slope": 0.01})"}}});
  r.push_back(
      {.op = "pow_scalar",
       .torch = "torch.pow(x[0], a['exponent'])",
       .nabla = [](const Inputs& x, const json& a) { return one(pow(x.at(0), a.at("exponent").get<double>())); },
       .cases = {{"pow_scalar_2_5", {"positive(3, 5, low=0.2, high=2.0)"}, R"({"exponent": 2.5})"},
                 {"pow_scalar_neg_half", {"positive(7, low=0.2, high=2.0)"}, R"({"exponent": -0.5})"},
                 {"pow_scalar_square", {"randn(4, 3)"}, R"({"exponent": 2.0})"}}});
  r.push_back({.op = "clamp",
               .torch = "torch.clamp(x[0], a['min'], a['max'])",
               .nabla =
                   [](const Inputs& x, const json& a) {
                     return one(clamp(x.at(0), optional_double(a.at("min")), optional_double(a.at("max"))));
                   },
               .cases = {{"clamp_both", {"randn(5, 7)"}, R"({"min": -0.5, "max": 0.7})"},
                         {"clamp_min_only", {"randn(5, 7)"}, R"({"min": -0.5, "max": null})"},
                         {"clamp_max_only", {"randn(5, 7)"}, R"({"min": null, "max": 0.7})"}}});
  r.push_back({.op = "dropout",
               .torch = "F.dropout(x[0], a['p'], training=a['training'])",
               .nabla = [](const Inputs& x,
                           const json& a) { return one(dropout(x.at(0), a.at("p"), a.at("training").get<bool>())); },
               .cases = {{"dropout_eval", {"randn(5)"}, R"({"p": 0.5, "training": false})"}}});
}

void add_binary(std::vector<OpEntry>& r) {
  struct Layout {
    std::string suffix;
    std::vector<int64_t> a, b;
    std::vector<std::string> views;
  };
  const std::vector<Layout> layouts = {
      {"same_shape", {4, 5}, {4, 5}, {}},
      {"broadcast_row", {4, 5}, {5}, {}},
      {"broadcast_col", {4, 5}, {4, 1}, {}},
      {"broadcast_both", {3, 1, 5}, {1, 4, 1}, {}},
      {"scalar_rhs", {3, 5}, {}, {}},
      {"one_lhs", {1}, {2, 3, 4}, {}},
      {"transpose", {5, 4}, {4, 5}, {"transpose", ""}},
      {"stride2", {3, 10}, {3, 5}, {"stride2", ""}},
  };
  // add, mul and div get every layout; the others a representative subset.
  auto in_subset = [](const std::string& s) {
    return s == "same_shape" || s == "broadcast_row" || s == "broadcast_both" || s == "scalar_rhs" || s == "transpose";
  };
  auto binary = [&](const std::string& op, const std::string& torch, Tensor (*f)(const Tensor&, const Tensor&),
                    std::vector<OpCase> extra = {}) {
    OpEntry e{
        .op = op, .torch = torch, .nabla = [f](const Inputs& x, const json&) { return one(f(x.at(0), x.at(1))); }};
    for (const Layout& l : layouts) {
      if (op != "add" && op != "mul" && op != "div" && !in_subset(l.suffix)) continue;
      std::vector<std::string> inputs;
      if (op == "div")
        inputs = {call("randn", l.a), call("away_from_zero", l.b)};
      else if (op == "maximum" || op == "minimum")
        inputs = {call("distinct", l.a), call("distinct", l.b, "offset=0.125")};
      else if (op == "pow")
        inputs = {call("positive", l.a, "low=0.3, high=2.0"), call("randn", l.b)};
      else
        inputs = {call("randn", l.a), call("randn", l.b)};
      e.cases.push_back({op + "_" + l.suffix, inputs, "{}", l.views});
    }
    for (OpCase& c : extra) e.cases.push_back(std::move(c));
    r.push_back(std::move(e));
  };
  binary("add", "torch.add(x[0], x[1])", nabla::add);
  // The right-hand operand viewed, and both operands non-contiguous at once.
  binary("sub", "torch.sub(x[0], x[1])", nabla::sub,
         {{"sub_rhs_transpose", {"randn(3, 4)", "randn(4, 3)"}, "{}", {"", "transpose"}}});
  binary("mul", "torch.mul(x[0], x[1])", nabla::mul,
         {{"mul_both_views", {"randn(6, 3)", "randn(3, 12)"}, "{}", {"transpose", "stride2"}}});
  binary("div", "torch.div(x[0], x[1])", nabla::div);
  binary("maximum", "torch.maximum(x[0], x[1])", nabla::maximum);
  binary("minimum", "torch.minimum(x[0], x[1])", nabla::minimum);
  binary("pow", "torch.pow(x[0], x[1])", nabla::pow);

  r.push_back({.op = "where",
               .torch = "torch.where(x[0], x[1], x[2])",
               .nabla = [](const Inputs& x, const json&) { return one(where(x.at(0), x.at(1), x.at(2))); },
               .cases = {{"where_same_shape", {"torch.rand(3, 5) > 0.5", "randn(3, 5)", "randn(3, 5)"}},
                         {"where_broadcast", {"torch.rand(4, 1) > 0.5", "randn(4, 5)", "randn(5)"}},
                         {"where_scalar_a", {"torch.rand(3, 4) > 0.5", "randn()", "randn(3, 4)"}},
                         {"where_cond_broadcast", {"torch.rand(5) > 0.5", "randn(2, 3, 5)", "randn(3, 1)"}}}});
}

// ----------------------------------------------------------------------------- softmax and reductions

void add_softmax(std::vector<OpEntry>& r) {
  for (const std::string op : {"softmax", "log_softmax"}) {
    OpEntry e{.op = op, .torch = "torch." + op + "(x[0], a['dim'])", .nabla = [op](const Inputs& x, const json& a) {
                const int64_t dim = a.at("dim").get<int64_t>();
                return one(op == "softmax" ? softmax(x.at(0), dim) : log_softmax(x.at(0), dim));
              }};
    e.cases = {{op + "_last", {"randn(4, 7) * 2"}, R"({"dim": -1})"},
               {op + "_dim0", {"randn(5, 3) * 2"}, R"({"dim": 0})"},
               {op + "_middle_3d", {"randn(2, 5, 3) * 2"}, R"({"dim": 1})"},
               {op + "_transpose", {"randn(6, 4) * 2"}, R"({"dim": -1})", {"transpose"}},
               {op + "_size1", {"randn(3, 1)"}, R"({"dim": -1})"}};
    if (op == "softmax")
      e.cases.push_back({"softmax_large_logits", {"randn(3, 5) * 30 + 80"}, R"({"dim": -1})"});
    else
      e.cases.push_back({"log_softmax_stride2", {"randn(3, 14)"}, R"({"dim": -1})", {"stride2"}});
    r.push_back(std::move(e));
  }
}

void add_reductions(std::vector<OpEntry>& r) {
  for (const std::string op : {"sum", "mean"}) {
    OpEntry e{.op = op,
              .torch = "torch." + op + "(x[0], dims(x[0], a['dims']), keepdim=a['keepdim'])",
              .nabla = [op](const Inputs& x, const json& a) {
                const auto dims = int_list(a.at("dims"));
                const bool keepdim = a.at("keepdim").get<bool>();
                return one(op == "sum" ? sum(x.at(0), dims, keepdim) : mean(x.at(0), dims, keepdim));
              }};
    e.cases = {{op + "_all", {"randn(3, 5)"}, R"({"dims": [], "keepdim": false})"},
               {op + "_all_keepdim", {"randn(3, 5)"}, R"({"dims": [], "keepdim": true})"},
               {op + "_dim1", {"randn(4, 7)"}, R"({"dims": [1], "keepdim": false})"},
               {op + "_dims02_keepdim", {"randn(3, 4, 5)"}, R"({"dims": [0, 2], "keepdim": true})"},
               {op + "_neg_dim", {"randn(2, 3, 5)"}, R"({"dims": [-1], "keepdim": false})"},
               {op + "_transpose", {"randn(5, 3)"}, R"({"dims": [1], "keepdim": false})", {"transpose"}},
               {op + "_stride2", {"randn(3, 10)"}, R"({"dims": [], "keepdim": false})", {"stride2"}}};
    if (op == "sum") e.cases.push_back({"sum_size1_dim", {"randn(3, 1, 5)"}, R"({"dims": [1], "keepdim": false})"});
    r.push_back(std::move(e));
  }
  r.push_back(
      {.op = "var",
       .torch = "torch.var(x[0], dims(x[0], a['dims']), correction=a['correction'], keepdim=a['keepdim'])",
       .nabla =
           [](const Inputs& x, const json& a) {
             return one(var(x.at(0), int_list(a.at("dims")), a.at("correction").get<int64_t>(), a.at("keepdim")));
           },
       .many_terms = true,
       .cases = {
           {"var_unbiased_all", {"randn(4, 5)"}, R"({"dims": [], "correction": 1, "keepdim": false})"},
           {"var_biased_dim1", {"randn(4, 7)"}, R"({"dims": [1], "correction": 0, "keepdim": false})"},
           {"var_unbiased_dim0_keepdim", {"randn(5, 3)"}, R"({"dims": [0], "correction": 1, "keepdim": true})"},
           {"var_dims12", {"randn(2, 3, 5)"}, R"({"dims": [1, 2], "correction": 1, "keepdim": false})"},
           {"var_transpose", {"randn(6, 3)"}, R"({"dims": [-1], "correction": 0, "keepdim": false})", {"transpose"}},
       }});
  r.push_back(
      {.op = "norm",
       .torch = "torch.linalg.vector_norm(x[0], a['p'], dims(x[0], a['dims']), keepdim=a['keepdim'])",
       .nabla = [](const Inputs& x,
                   const json& a) { return one(norm(x.at(0), a.at("p"), int_list(a.at("dims")), a.at("keepdim"))); },
       .many_terms = true,
       .cases = {
           {"norm_l2_all", {"randn(3, 5)"}, R"({"p": 2.0, "dims": [], "keepdim": false})"},
           {"norm_l2_dim1_keepdim", {"randn(4, 5)"}, R"({"p": 2.0, "dims": [1], "keepdim": true})"},
           {"norm_l1_dim0", {"away_from_zero(5, 3)"}, R"({"p": 1.0, "dims": [0], "keepdim": false})"},
           {"norm_l1_all", {"away_from_zero(2, 3, 4)"}, R"({"p": 1.0, "dims": [], "keepdim": false})"},
           {"norm_l2_stride2", {"randn(3, 8)"}, R"({"p": 2.0, "dims": [-1], "keepdim": false})", {"stride2"}},
           {"norm_p3_all", {"away_from_zero(6)"}, R"({"p": 3.0, "dims": [], "keepdim": false})"},
       }});
  for (const std::string op : {"max_dim", "min_dim"}) {
    OpEntry e{.op = op,
              .torch = std::string("list(torch.") + (op == "max_dim" ? "max" : "min") +
                       "(x[0], a['dim'], keepdim=a['keepdim']))",
              .nabla =
                  [op](const Inputs& x, const json& a) {
                    const int64_t dim = a.at("dim").get<int64_t>();
                    const bool keepdim = a.at("keepdim").get<bool>();
                    ValuesIndices v = op == "max_dim" ? max(x.at(0), dim, keepdim) : min(x.at(0), dim, keepdim);
                    return Outputs{v.values, v.indices};
                  },
              .multi_output = true,
              .grad_outputs = {0}};
    e.cases = {{op + "_dim1", {"distinct(4, 7)"}, R"({"dim": 1, "keepdim": false})"},
               {op + "_dim0_keepdim", {"distinct(5, 3)"}, R"({"dim": 0, "keepdim": true})"},
               {op + "_3d_last", {"distinct(2, 3, 5)"}, R"({"dim": -1, "keepdim": false})"},
               {op + "_transpose", {"distinct(3, 6)"}, R"({"dim": 1, "keepdim": false})", {"transpose"}}};
    r.push_back(std::move(e));
  }
  r.push_back({.op = "argmax",
               .torch = "torch.argmax(x[0], a['dim'], keepdim=a['keepdim'])",
               .nabla = [](const Inputs& x,
                           const json& a) { return one(argmax(x.at(0), a.at("dim").get<int64_t>(), a.at("keepdim"))); },
               .differentiable = false,
               .cases = {{"argmax_dim1", {"distinct(4, 7)"}, R"({"dim": 1, "keepdim": false})"},
                         {"argmax_dim0_keepdim", {"distinct(5, 3)"}, R"({"dim": 0, "keepdim": true})"},
                         {"argmax_3d_middle", {"distinct(2, 5, 3)"}, R"({"dim": 1, "keepdim": false})"},
                         {"argmax_transpose", {"distinct(4, 3)"}, R"({"dim": -1, "keepdim": false})", {"transpose"}}}});
}

// ----------------------------------------------------------------------------- products

void add_products(std::vector<OpEntry>& r) {
  // Linear in each input, so a finite difference is exact at any step: a large one leaves only
  // the f32 rounding of the products.
  const GradcheckOptions linear_in_each{.eps = 0.05};
  r.push_back(
      {.op = "matmul",
       .torch = "torch.matmul(x[0], x[1])",
       .nabla = [](const Inputs& x, const json&) { return one(matmul(x.at(0), x.at(1))); },
       .many_terms = true,
       .cases = {
           {"matmul_2d", {"randn(3, 5)", "randn(5, 4)"}},
           {"matmul_2d_bigger", {"randn(17, 13)", "randn(13, 11)"}},
           // Past the inline kernel's size, so oneDNN runs.
           {"matmul_2d_onednn", {"randn(36, 29)", "randn(29, 35)"}, "{}", {}, linear_in_each},
           {"matmul_batched", {"randn(2, 3, 5)", "randn(2, 5, 4)"}},
           {"matmul_broadcast_batch", {"randn(2, 1, 3, 4)", "randn(5, 4, 6)"}},
           {"matmul_3d_by_2d", {"randn(2, 3, 5)", "randn(5, 4)"}},
           {"matmul_2d_by_3d", {"randn(3, 5)", "randn(2, 5, 4)"}},
           {"matmul_1d_2d", {"randn(5)", "randn(5, 3)"}},
           {"matmul_2d_1d", {"randn(3, 5)", "randn(5)"}},
           {"matmul_1d_1d", {"randn(7)", "randn(7)"}},
           {"matmul_1d_3d", {"randn(4)", "randn(2, 4, 3)"}},
           {"matmul_3d_1d", {"randn(2, 3, 4)", "randn(4)"}},
           {"matmul_inner1", {"randn(4, 1)", "randn(1, 3)"}},
           {"matmul_transpose_a", {"randn(5, 3)", "randn(5, 4)"}, "{}", {"transpose", ""}},
           {"matmul_transpose_b", {"randn(3, 5)", "randn(4, 5)"}, "{}", {"", "transpose"}},
           {"matmul_batched_transpose_b", {"randn(2, 3, 5)", "randn(2, 4, 5)"}, "{}", {"", "transpose"}},
           {"matmul_batched_transpose_both", {"randn(2, 5, 3)", "randn(2, 4, 5)"}, "{}", {"transpose", "transpose"}},
           {"matmul_stride2_a", {"randn(3, 10)", "randn(5, 4)"}, "{}", {"stride2", ""}},
       }});
  r.push_back(
      {.op = "linear",
       .torch = "F.linear(*x)",
       .nabla = [](const Inputs& x, const json&) { return one(linear(x.at(0), x.at(1), optional_input(x, 2))); },
       .many_terms = true,
       .cases = {
           {"linear_2d_bias", {"randn(4, 5)", "randn(3, 5)", "randn(3)"}},
           {"linear_3d_bias", {"randn(2, 3, 5)", "randn(7, 5)", "randn(7)"}},
           {"linear_2d_no_bias", {"randn(4, 5)", "randn(3, 5)"}},
           {"linear_3d_no_bias", {"randn(2, 3, 4)", "randn(6, 4)"}},
           {"linear_weight_transposed", {"randn(3, 5)", "randn(5, 4)", "randn(4)"}, "{}", {"", "transpose", ""}},
       }});

  OpEntry conv{.op = "conv2d",
               .torch =
                   "F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=a['stride'], "
                   "padding=a['padding'], dilation=a['dilation'], groups=a['groups'])",
               .nabla =
                   [](const Inputs& x, const json& a) {
                     Conv2dOptions options;
                     options.stride = pair_arg(a.at("stride"));
                     options.padding = pair_arg(a.at("padding"));
                     options.dilation = pair_arg(a.at("dilation"));
                     options.groups = a.at("groups").get<int64_t>();
                     return one(conv2d(x.at(0), x.at(1), optional_input(x, 2), options));
                   },
               .many_terms = true};
  auto case_of = [&](const std::string& name, std::vector<int64_t> x, std::vector<int64_t> w, bool bias,
                     std::string args = R"({"stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 1})") {
    std::vector<std::string> inputs = {call("randn", x), call("randn", w) + " * 0.5"};
    if (bias) inputs.push_back(call("randn", {w[0]}));
    // Linear in each input (see matmul); the step also keeps the f32 noise of the ~27-term sums
    // below the tolerance whatever oneDNN's accumulation order on this CPU.
    conv.cases.push_back({name, inputs, std::move(args), {}, {.eps = 1e-2}});
  };
  case_of("conv2d_basic", {2, 3, 7, 7}, {4, 3, 3, 3}, true);
  case_of("conv2d_one_channel", {2, 1, 6, 5}, {3, 1, 3, 3}, true);
  case_of("conv2d_stride2", {1, 3, 9, 9}, {2, 3, 3, 3}, true,
          R"({"stride": [2, 2], "padding": [0, 0], "dilation": [1, 1], "groups": 1})");
  case_of("conv2d_padding1", {2, 2, 5, 5}, {3, 2, 3, 3}, true,
          R"({"stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 1})");
  case_of("conv2d_dilation2", {1, 2, 9, 8}, {2, 2, 3, 3}, true,
          R"({"stride": [1, 1], "padding": [2, 2], "dilation": [2, 2], "groups": 1})");
  case_of("conv2d_groups2", {2, 4, 6, 6}, {6, 2, 3, 3}, true,
          R"({"stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 2})");
  case_of("conv2d_depthwise", {1, 3, 5, 5}, {3, 1, 3, 3}, true,
          R"({"stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 3})");
  case_of("conv2d_nonsquare_kernel", {1, 3, 7, 6}, {4, 3, 2, 3}, true,
          R"({"stride": [2, 1], "padding": [1, 0], "dilation": [1, 1], "groups": 1})");
  case_of("conv2d_no_bias", {2, 3, 5, 5}, {2, 3, 3, 3}, false);
  case_of("conv2d_1x1", {2, 5, 3, 3}, {4, 5, 1, 1}, false);
  case_of("conv2d_mixed_odd", {2, 2, 11, 9}, {3, 2, 3, 2}, true,
          R"({"stride": [2, 3], "padding": [1, 2], "dilation": [2, 1], "groups": 1})");
  case_of("conv2d_kernel_equals_input", {2, 3, 4, 4}, {5, 3, 4, 4}, true);
  // More than four input channels: oneDNN (up to four at stride 1 run nabla's direct kernels).
  case_of("conv2d_many_channels", {2, 9, 6, 5}, {10, 9, 3, 3}, true,
          R"({"stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 1})");
  case_of("conv2d_seven_channels_strided", {3, 7, 8, 7}, {5, 7, 3, 2}, true,
          R"({"stride": [2, 2], "padding": [1, 1], "dilation": [1, 2], "groups": 1})");
  case_of("conv2d_stride_dilation_groups_no_bias", {1, 4, 6, 7}, {2, 2, 3, 2}, false,
          R"({"stride": [2, 1], "padding": [1, 0], "dilation": [1, 2], "groups": 2})");
  r.push_back(std::move(conv));
}

// ----------------------------------------------------------------------------- pooling

void add_pooling(std::vector<OpEntry>& r) {
  auto pool_entry = [](const std::string& op, const std::string& torch,
                       Tensor (*f)(const Tensor&, const Pool2dOptions&)) {
    return OpEntry{.op = op, .torch = torch, .nabla = [f](const Inputs& x, const json& a) {
                     return one(f(x.at(0), pool_options(a)));
                   }};
  };
  // Distinct values so the max (and its gradient) is unambiguous; none is 0, relu's kink.
  auto pool = [](OpEntry& e, const std::string& name, std::vector<int64_t> x, const std::string& args) {
    e.cases.push_back({name, {call("distinct", x, e.op == "relu_max_pool2d" ? "offset=0.125" : "")}, args});
  };
  OpEntry maxp = pool_entry("max_pool2d",
                            "F.max_pool2d(x[0], a['kernel_size'], pair(a['stride']), a['padding'], "
                            "ceil_mode=a['ceil_mode'])",
                            nabla::max_pool2d);
  pool(maxp, "max_pool2d_k2s2", {2, 3, 6, 6},
       R"({"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0], "ceil_mode": false})");
  pool(maxp, "max_pool2d_k3s2p1", {1, 2, 7, 7},
       R"({"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "ceil_mode": false})");
  pool(maxp, "max_pool2d_ceil_mode", {1, 2, 7, 5},
       R"({"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0], "ceil_mode": true})");
  pool(maxp, "max_pool2d_ceil_pad", {1, 1, 8, 8},
       R"({"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "ceil_mode": true})");
  pool(maxp, "max_pool2d_nonsquare", {2, 2, 5, 9},
       R"({"kernel_size": [2, 3], "stride": [1, 2], "padding": [0, 0], "ceil_mode": false})");
  pool(maxp, "max_pool2d_default_stride", {1, 3, 6, 9},
       R"({"kernel_size": [3, 3], "stride": null, "padding": [0, 0], "ceil_mode": false})");
  pool(maxp, "max_pool2d_overlap_s1", {1, 2, 5, 5},
       R"({"kernel_size": [3, 3], "stride": [1, 1], "padding": [0, 0], "ceil_mode": false})");
  r.push_back(std::move(maxp));

  OpEntry relu_maxp = pool_entry("relu_max_pool2d",
                                 "F.max_pool2d(F.relu(x[0]), a['kernel_size'], pair(a['stride']), a['padding'], "
                                 "ceil_mode=a['ceil_mode'])",
                                 nabla::relu_max_pool2d);
  pool(relu_maxp, "relu_max_pool2d_k2s2", {2, 3, 6, 6},
       R"({"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0], "ceil_mode": false})");
  pool(relu_maxp, "relu_max_pool2d_k3s2p1_ceil", {1, 2, 7, 7},
       R"({"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "ceil_mode": true})");
  r.push_back(std::move(relu_maxp));

  OpEntry avgp = pool_entry("avg_pool2d",
                            "F.avg_pool2d(x[0], a['kernel_size'], pair(a['stride']), a['padding'], "
                            "ceil_mode=a['ceil_mode'], count_include_pad=a['count_include_pad'])",
                            nabla::avg_pool2d);
  pool(
      avgp, "avg_pool2d_k2s2", {2, 3, 6, 6},
      R"({"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0], "ceil_mode": false, "count_include_pad": true})");
  pool(
      avgp, "avg_pool2d_pad_include", {1, 2, 5, 5},
      R"({"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "ceil_mode": false, "count_include_pad": true})");
  pool(
      avgp, "avg_pool2d_pad_exclude", {1, 2, 5, 5},
      R"({"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "ceil_mode": false, "count_include_pad": false})");
  pool(avgp, "avg_pool2d_ceil_mode", {1, 2, 7, 5},
       R"({"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0], "ceil_mode": true, "count_include_pad": true})");
  pool(avgp, "avg_pool2d_ceil_pad_include", {1, 1, 8, 8},
       R"({"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "ceil_mode": true, "count_include_pad": true})");
  pool(
      avgp, "avg_pool2d_nonsquare", {2, 2, 5, 9},
      R"({"kernel_size": [2, 3], "stride": [1, 2], "padding": [0, 0], "ceil_mode": false, "count_include_pad": true})");
  pool(avgp, "avg_pool2d_default_stride", {1, 3, 6, 9},
       R"({"kernel_size": [3, 3], "stride": null, "padding": [0, 0], "ceil_mode": false, "count_include_pad": true})");
  r.push_back(std::move(avgp));

  OpEntry adaptive{.op = "adaptive_avg_pool2d",
                   .torch = "F.adaptive_avg_pool2d(x[0], a['output_size'])",
                   .nabla = [](const Inputs& x, const json& a) {
                     return one(adaptive_avg_pool2d(x.at(0), pair_arg(a.at("output_size"))));
                   }};
  const std::vector<std::tuple<std::string, std::vector<int64_t>, std::string>> sizes = {
      {"adaptive_avg_pool2d_7_to_3", {2, 3, 7, 7}, R"({"output_size": [3, 3]})"},
      {"adaptive_avg_pool2d_divisible", {1, 2, 6, 6}, R"({"output_size": [2, 3]})"},
      {"adaptive_avg_pool2d_nonsquare", {2, 2, 5, 7}, R"({"output_size": [3, 4]})"},
      {"adaptive_avg_pool2d_global", {2, 3, 5, 4}, R"({"output_size": [1, 1]})"},
      {"adaptive_avg_pool2d_identity", {1, 2, 3, 5}, R"({"output_size": [3, 5]})"},
      {"adaptive_avg_pool2d_upsample", {1, 1, 3, 2}, R"({"output_size": [5, 4]})"}};
  for (const auto& [name, x, args] : sizes) adaptive.cases.push_back({name, {call("randn", x)}, args});
  r.push_back(std::move(adaptive));
}

// ----------------------------------------------------------------------------- layers as functions

void add_nn_functional(std::vector<OpEntry>& r) {
  r.push_back(
      {.op = "embedding",
       .torch = "F.embedding(x[0], x[1], padding_idx=a['padding_idx'])",
       .nabla = [](const Inputs& x,
                   const json& a) { return one(embedding(x.at(0), x.at(1), optional_int(a.at("padding_idx")))); },
       .cases = {{"embedding_basic", {"emb_indices()", "randn(10, 6)"}, R"({"padding_idx": null})"},
                 {"embedding_padding_idx",
                  {"emb_indices()", "randn(10, 6)"},
                  R"({"padding_idx": 2})",
                  {},
                  {},
                  /*gradient_is_derivative=*/false},
                 {"embedding_1d", {"torch.tensor([4, 0, 4, 9, 1])", "randn(10, 3)"}, R"({"padding_idx": null})"}}});
  r.push_back(
      {.op = "layer_norm",
       .torch = "F.layer_norm(x[0], a['normalized_shape'], *x[1:], eps=a['eps'])",
       .nabla =
           [](const Inputs& x, const json& a) {
             return one(layer_norm(x.at(0), int_list(a.at("normalized_shape")), optional_input(x, 1),
                                   optional_input(x, 2), a.at("eps").get<double>()));
           },
       .many_terms = true,
       .cases = {
           {"layer_norm_2d", {"randn(4, 6)", "randn(6)", "randn(6)"}, R"({"normalized_shape": [6], "eps": 1e-05})"},
           {"layer_norm_3d",
            {"randn(2, 3, 5) * 2 + 1", "randn(5)", "randn(5)"},
            R"({"normalized_shape": [5], "eps": 1e-05})"},
           {"layer_norm_two_dims_no_affine", {"randn(2, 3, 4)"}, R"({"normalized_shape": [3, 4], "eps": 1e-05})"},
           {"layer_norm_two_dims_affine",
            {"randn(2, 3, 5)", "randn(3, 5)", "randn(3, 5)"},
            R"({"normalized_shape": [3, 5], "eps": 1e-05})"},
           {"layer_norm_transpose",
            {"randn(7, 3)", "randn(7)", "randn(7)"},
            R"({"normalized_shape": [7], "eps": 1e-05})",
            {"transpose", "", ""}},
       }});
  OpEntry bn{.op = "batch_norm",
             .torch = "batch_norm_twin(x, a)",
             .nabla =
                 [](const Inputs& x, const json& a) {
                   // The running stats are updated in place, so outputs 1 and 2 are them after the call.
                   Tensor y = batch_norm(x.at(0), x.at(1), x.at(2), x.at(3), x.at(4), a.at("training").get<bool>(),
                                         a.at("momentum").get<double>(), a.at("eps").get<double>());
                   return Outputs{y, x.at(1), x.at(2)};
                 },
             .grad_inputs = {0, 3, 4},
             .multi_output = true,
             .grad_outputs = {0},
             .many_terms = true};
  auto bn_case = [&](const std::string& name, std::vector<int64_t> x, bool training) {
    const std::string c = std::to_string(x[1]);
    bn.cases.push_back(
        {name,
         {call("randn", x) + " * 2 + 0.5", "randn(" + c + ") * 0.1", "positive(" + c + ", low=0.5, high=1.5)",
          "randn(" + c + ")", "randn(" + c + ")"},
         std::string(R"({"training": )") + (training ? "true" : "false") + R"(, "momentum": 0.1, "eps": 1e-05})"});
  };
  bn_case("batch_norm_2d_train", {6, 3}, true);
  bn_case("batch_norm_2d_eval", {6, 3}, false);
  bn_case("batch_norm_4d_train", {3, 2, 4, 5}, true);
  bn_case("batch_norm_4d_eval", {3, 2, 4, 5}, false);
  bn_case("batch_norm_3d_train", {4, 3, 5}, true);
  r.push_back(std::move(bn));
}

// ----------------------------------------------------------------------------- shapes and views

void add_shapes(std::vector<OpEntry>& r) {
  r.push_back(
      {.op = "cat",
       .torch = "torch.cat(x, a['dim'])",
       .nabla = [](const Inputs& x, const json& a) { return one(cat(x, a.at("dim").get<int64_t>())); },
       .cases = {{"cat_dim0", {"randn(2, 3)", "randn(1, 3)", "randn(4, 3)"}, R"({"dim": 0})"},
                 {"cat_dim1", {"randn(3, 2)", "randn(3, 5)"}, R"({"dim": 1})"},
                 {"cat_neg_dim_3d", {"randn(2, 3, 1)", "randn(2, 3, 4)", "randn(2, 3, 2)"}, R"({"dim": -1})"},
                 {"cat_transpose_input", {"randn(3, 4)", "randn(2, 4)"}, R"({"dim": 1})", {"transpose", "transpose"}},
                 {"cat_single", {"randn(3, 4)"}, R"({"dim": 1})"}}});
  r.push_back({.op = "stack",
               .torch = "torch.stack(x, a['dim'])",
               .nabla = [](const Inputs& x, const json& a) { return one(stack(x, a.at("dim").get<int64_t>())); },
               .cases = {{"stack_dim0", {"randn(3, 4)", "randn(3, 4)", "randn(3, 4)"}, R"({"dim": 0})"},
                         {"stack_dim1", {"randn(2, 5)", "randn(2, 5)"}, R"({"dim": 1})"},
                         {"stack_neg_dim", {"randn(3, 2)", "randn(3, 2)", "randn(3, 2)"}, R"({"dim": -1})"}}});
  r.push_back({.op = "split",
               .torch = "list(torch.split(x[0], a['split_size'], a['dim']))",
               .nabla = [](const Inputs& x,
                           const json& a) { return split(x.at(0), a.at("split_size").get<int64_t>(), a.at("dim")); },
               .multi_output = true,
               .cases = {{"split_uneven_dim0", {"randn(5, 3)"}, R"({"split_size": 2, "dim": 0})"},
                         {"split_last_dim", {"randn(2, 3, 7)"}, R"({"split_size": 3, "dim": -1})"},
                         {"split_size_exceeds", {"randn(3, 4)"}, R"({"split_size": 5, "dim": 1})"}}});
  r.push_back({.op = "chunk",
               .torch = "list(torch.chunk(x[0], a['chunks'], a['dim']))",
               .nabla = [](const Inputs& x,
                           const json& a) { return chunk(x.at(0), a.at("chunks").get<int64_t>(), a.at("dim")); },
               .multi_output = true,
               .cases = {{"chunk_even", {"randn(6, 2)"}, R"({"chunks": 2, "dim": 0})"},
                         {"chunk_uneven", {"randn(3, 7)"}, R"({"chunks": 3, "dim": 1})"},
                         // torch.chunk(5 elements, 4) gives 3 pieces of 2, 2, 1: fewer than asked for.
                         {"chunk_fewer_pieces", {"randn(5, 2)"}, R"({"chunks": 4, "dim": 0})"}}});
  r.push_back({.op = "index_select",
               .torch = "torch.index_select(x[0], a['dim'], x[1])",
               .nabla = [](const Inputs& x,
                           const json& a) { return one(index_select(x.at(0), a.at("dim").get<int64_t>(), x.at(1))); },
               .cases = {{"index_select_dim0", {"randn(5, 3)", "torch.tensor([4, 0, 4, 2])"}, R"({"dim": 0})"},
                         {"index_select_dim1", {"randn(3, 6)", "torch.tensor([1, 1, 5])"}, R"({"dim": 1})"},
                         {"index_select_3d_middle", {"randn(2, 4, 3)", "torch.tensor([3, 0])"}, R"({"dim": 1})"}}});
  r.push_back({.op = "gather",
               .torch = "torch.gather(x[0], a['dim'], x[1])",
               .nabla = [](const Inputs& x,
                           const json& a) { return one(gather(x.at(0), a.at("dim").get<int64_t>(), x.at(1))); },
               .cases = {{"gather_dim0", {"randn(4, 3)", "indices(4, 5, 3)"}, R"({"dim": 0})"},
                         {"gather_dim1", {"randn(3, 5)", "indices(5, 3, 4)"}, R"({"dim": 1})"},
                         {"gather_3d_last", {"randn(2, 3, 5)", "indices(5, 2, 3, 2)"}, R"({"dim": -1})"},
                         // PyTorch allows index to be smaller than x in the non-gathered dims too.
                         {"gather_index_smaller", {"randn(4, 5)", "indices(4, 2, 3)"}, R"({"dim": 0})"}}});
  // The differentiable views, each alone: their backward scatters into the viewed input.
  r.push_back(
      {.op = "transpose",
       .torch = "x[0].transpose(a['dim0'], a['dim1'])",
       .nabla = [](const Inputs& x, const json& a) { return one(x.at(0).transpose(a.at("dim0"), a.at("dim1"))); },
       .cases = {{"transpose_2d", {"randn(3, 4)"}, R"({"dim0": 0, "dim1": 1})"},
                 {"transpose_3d_outer", {"randn(2, 3, 4)"}, R"({"dim0": 0, "dim1": 2})"}}});
  r.push_back({.op = "permute_reshape",
               .torch = "x[0].permute(*a['dims']).reshape(a['shape'])",
               .nabla =
                   [](const Inputs& x, const json& a) {
                     return one(x.at(0).permute(int_list(a.at("dims"))).reshape(Shape(int_list(a.at("shape")))));
                   },
               .cases = {{"permute_reshape_copy", {"randn(2, 3, 4)"}, R"({"dims": [2, 0, 1], "shape": [4, 6]})"}}});
  r.push_back({.op = "slice_select",
               .torch = "x[0][:, a['start']:a['end']:a['step']].select(0, a['index'])",
               .nabla =
                   [](const Inputs& x, const json& a) {
                     return one(x.at(0).slice(1, a.at("start"), a.at("end"), a.at("step")).select(0, a.at("index")));
                   },
               .cases = {{"slice_select_step2", {"randn(3, 5)"}, R"({"start": 0, "end": 5, "step": 2, "index": 1})"}}});
  r.push_back(
      {.op = "expand",
       .torch = "x[0].expand(*a['shape'])",
       .nabla = [](const Inputs& x, const json& a) { return one(x.at(0).expand(Shape(int_list(a.at("shape"))))); },
       .cases = {{"expand_rows", {"randn(3)"}, R"({"shape": [4, 3]})"},
                 {"expand_middle", {"randn(2, 1, 3)"}, R"({"shape": [2, 5, 3]})"}}});
}

// ----------------------------------------------------------------------------- losses

void add_losses(std::vector<OpEntry>& r) {
  OpEntry mse{
      .op = "mse_loss",
      .torch = "F.mse_loss(x[0], x[1], reduction=a['reduction'])",
      .nabla = [](const Inputs& x,
                  const json& a) { return one(mse_loss(x.at(0), x.at(1), a.at("reduction").get<std::string>())); },
      .many_terms = true};
  for (const std::string reduction : {"mean", "sum", "none"})
    mse.cases.push_back(
        {"mse_loss_" + reduction, {"randn(4, 5)", "randn(4, 5)"}, R"({"reduction": ")" + reduction + "\"}"});
  mse.cases.push_back({"mse_loss_1d", {"randn(7)", "randn(7)"}, R"({"reduction": "mean"})"});
  r.push_back(std::move(mse));

  OpEntry bce{.op = "binary_cross_entropy",
              .torch = "F.binary_cross_entropy(x[0], x[1], x[2] if len(x) > 2 else None, reduction=a['reduction'])",
              .nabla =
                  [](const Inputs& x, const json& a) {
                    return one(binary_cross_entropy(x.at(0), x.at(1), optional_input(x, 2), a.at("reduction")));
                  },
              .grad_inputs = {0},
              .many_terms = true};
  for (const std::string reduction : {"mean", "sum", "none"})
    bce.cases.push_back({"binary_cross_entropy_" + reduction,
                         {"probs(4, 3)", "torch.randint(0, 2, (4, 3)).float()"},
                         R"({"reduction": ")" + reduction + "\"}"});
  bce.cases.push_back(
      {"binary_cross_entropy_soft_target", {"probs(5, 2)", "torch.rand(5, 2)"}, R"({"reduction": "mean"})"});
  bce.cases.push_back({"binary_cross_entropy_weight",
                       {"probs(4, 3)", "torch.randint(0, 2, (4, 3)).float()", "positive(4, 3)"},
                       R"({"reduction": "mean"})"});
  bce.cases.push_back({"binary_cross_entropy_weight_broadcast",
                       {"probs(4, 3)", "torch.rand(4, 3)", "positive(3)"},
                       R"({"reduction": "sum"})"});
  r.push_back(std::move(bce));

  OpEntry bcel{
      .op = "binary_cross_entropy_with_logits",
      .torch =
          "F.binary_cross_entropy_with_logits(x[0], x[1], reduction=a['reduction'], "
          "pos_weight=x[2] if len(x) > 2 else None)",
      .nabla =
          [](const Inputs& x, const json& a) {
            return one(binary_cross_entropy_with_logits(x.at(0), x.at(1), optional_input(x, 2), a.at("reduction")));
          },
      .grad_inputs = {0},
      .many_terms = true};
  for (const std::string reduction : {"mean", "sum", "none"})
    bcel.cases.push_back({"binary_cross_entropy_with_logits_" + reduction,
                          {"randn(4, 3) * 3", "torch.randint(0, 2, (4, 3)).float()"},
                          R"({"reduction": ")" + reduction + "\"}"});
  // A summed loss near 10 in f32 moves by less than its rounding over a 1e-3 step; the loss is
  // smooth in the logits, so a 1e-2 step is as exact and clears the noise.
  for (OpCase& c : bcel.cases) c.gradcheck.eps = 1e-2;
  bcel.cases.push_back({"binary_cross_entropy_with_logits_pos_weight",
                        {"randn(5, 3) * 3", "torch.rand(5, 3)", "positive(3)"},
                        R"({"reduction": "mean"})"});
  bcel.cases.push_back({"binary_cross_entropy_with_logits_pos_weight_none",
                        {"randn(2, 4) * 3", "torch.randint(0, 2, (2, 4)).float()", "positive(4)"},
                        R"({"reduction": "none"})"});
  bcel.cases.push_back({"binary_cross_entropy_with_logits_large",
                        {"randn(3, 4) * 40", "torch.randint(0, 2, (3, 4)).float()"},
                        R"({"reduction": "mean"})"});
  r.push_back(std::move(bcel));

  OpEntry ce{.op = "cross_entropy",
             .torch =
                 "F.cross_entropy(x[0], x[1], reduction=a['reduction'], ignore_index=a['ignore_index'], "
                 "label_smoothing=a['label_smoothing'])",
             .nabla = [](const Inputs& x,
                         const json& a) { return one(cross_entropy(x.at(0), x.at(1), cross_entropy_options(a))); },
             .grad_inputs = {0},
             .many_terms = true};
  auto ce_case = [&](const std::string& name, std::vector<std::string> inputs, const std::string& reduction = "mean",
                     int ignore_index = -100, const std::string& smoothing = "0.0") {
    ce.cases.push_back({name, std::move(inputs), cross_entropy_args(reduction, ignore_index, smoothing)});
  };
  ce_case("cross_entropy_mean", {"randn(5, 7) * 2", "indices(7, 5)"});
  ce_case("cross_entropy_sum", {"randn(5, 7) * 2", "indices(7, 5)"}, "sum");
  ce_case("cross_entropy_none", {"randn(5, 7) * 2", "indices(7, 5)"}, "none");
  ce_case("cross_entropy_ignore_index", {"randn(6, 4) * 2", "targets_with(2, 6, 4)"}, "mean", 2);
  ce_case("cross_entropy_ignore_index_default_used", {"randn(4, 3)", "targets_with(-100, 4, 3)"});
  ce_case("cross_entropy_ignore_index_none", {"randn(6, 4)", "targets_with(1, 6, 4)"}, "none", 1);
  ce_case("cross_entropy_label_smoothing", {"randn(5, 7) * 2", "indices(7, 5)"}, "mean", -100, "0.1");
  ce_case("cross_entropy_label_smoothing_sum", {"randn(5, 7) * 2", "indices(7, 5)"}, "sum", -100, "0.1");
  ce_case("cross_entropy_smoothing_ignore", {"randn(6, 5) * 2", "targets_with(3, 6, 5)"}, "mean", 3, "0.1");
  ce_case("cross_entropy_spatial", {"randn(2, 5, 3) * 2", "indices(5, 2, 3)"});
  ce_case("cross_entropy_spatial_none", {"randn(2, 4, 3)", "indices(4, 2, 3)"}, "none");
  ce_case("cross_entropy_probabilities", {"randn(4, 5) * 2", "torch.softmax(randn(4, 5), -1)"});
  ce_case("cross_entropy_probabilities_smoothing", {"randn(4, 5) * 2", "torch.softmax(randn(4, 5), -1)"}, "mean", -100,
          "0.1");
  ce_case("cross_entropy_probabilities_none", {"randn(3, 6)", "torch.softmax(randn(3, 6), -1)"}, "none");
  ce_case("cross_entropy_large_logits", {"randn(4, 6) * 50", "indices(6, 4)"});
  r.push_back(std::move(ce));

  OpEntry kl{
      .op = "kl_div",
      .torch = "F.kl_div(x[0], x[1], reduction=a['reduction'], log_target=a['log_target'])",
      .nabla = [](const Inputs& x,
                  const json& a) { return one(kl_div(x.at(0), x.at(1), a.at("reduction"), a.at("log_target"))); },
      .grad_inputs = {0}};
  auto kl_case = [&](const std::string& name, std::vector<std::string> inputs, const std::string& reduction,
                     bool log_target = false) {
    kl.cases.push_back(
        {name, std::move(inputs),
         R"({"reduction": ")" + reduction + R"(", "log_target": )" + (log_target ? "true" : "false") + "}"});
  };
  // Distillation's use: student log-probabilities against teacher probabilities at a temperature.
  kl_case("kl_div_batchmean", {"torch.log_softmax(randn(4, 6) / 2, -1)", "torch.softmax(randn(4, 6) / 2, -1)"},
          "batchmean");
  kl_case("kl_div_mean", {"torch.log_softmax(randn(3, 5), -1)", "torch.softmax(randn(3, 5), -1)"}, "mean");
  kl_case("kl_div_sum", {"torch.log_softmax(randn(3, 5), -1)", "torch.softmax(randn(3, 5), -1)"}, "sum");
  kl_case("kl_div_none", {"torch.log_softmax(randn(3, 5), -1)", "torch.softmax(randn(3, 5), -1)"}, "none");
  kl_case("kl_div_zero_target",
          {"torch.log_softmax(randn(2, 4), -1)", "torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])"},
          "batchmean");
  kl_case("kl_div_log_target", {"torch.log_softmax(randn(4, 6), -1)", "torch.log_softmax(randn(4, 6), -1)"},
          "batchmean", true);
  r.push_back(std::move(kl));

  OpEntry distill{
      .op = "distillation_loss",
      .torch =
          "F.kl_div(F.log_softmax(x[0].flatten(0, -2) / a['T'], -1), F.softmax(x[1].flatten(0, -2) / a['T'], "
          "-1), reduction='batchmean') * a['T'] ** 2",
      .nabla = [](const Inputs& x,
                  const json& a) { return one(distillation_loss(x.at(0), x.at(1), a.at("T").get<double>())); },
      .grad_inputs = {0}};
  distill.cases.push_back({"distillation_loss_t1", {"randn(4, 6)", "randn(4, 6) * 2"}, R"({"T": 1.0})"});
  distill.cases.push_back({"distillation_loss_t4", {"randn(4, 6) * 3", "randn(4, 6) * 3"}, R"({"T": 4.0})"});
  distill.cases.push_back({"distillation_loss_sequence", {"randn(2, 3, 5)", "randn(2, 3, 5)"}, R"({"T": 2.0})"});
  r.push_back(std::move(distill));

  OpEntry lce{.op = "linear_cross_entropy",
              .torch =
                  "F.cross_entropy((x[0] @ x[1].T).flatten(0, -2), x[2].flatten(), reduction=a['reduction'], "
                  "ignore_index=a['ignore_index'], label_smoothing=a['label_smoothing'])",
              .nabla =
                  [](const Inputs& x, const json& a) {
                    return one(linear_cross_entropy(x.at(0), x.at(1), x.at(2), cross_entropy_options(a)));
                  },
              .grad_inputs = {0, 1},
              .many_terms = true};
  auto lce_case = [&](const std::string& name, std::vector<std::string> inputs, const std::string& reduction = "mean",
                      int ignore_index = -100, const std::string& smoothing = "0.0",
                      std::vector<std::string> views = {}) {
    lce.cases.push_back(
        {name, std::move(inputs), cross_entropy_args(reduction, ignore_index, smoothing), std::move(views)});
  };
  lce_case("linear_cross_entropy_mean", {"randn(5, 4)", "randn(7, 4)", "indices(7, 5)"});
  lce_case("linear_cross_entropy_sum", {"randn(5, 4)", "randn(7, 4)", "indices(7, 5)"}, "sum");
  lce_case("linear_cross_entropy_ignore_index", {"randn(6, 3)", "randn(4, 3)", "targets_with(2, 6, 4)"}, "mean", 2);
  lce_case("linear_cross_entropy_label_smoothing", {"randn(5, 4)", "randn(7, 4)", "indices(7, 5)"}, "mean", -100,
           "0.1");
  lce_case("linear_cross_entropy_sequence", {"randn(2, 3, 4)", "randn(6, 4)", "indices(6, 2, 3)"});
  lce_case("linear_cross_entropy_transposed_weight", {"randn(5, 4)", "randn(4, 7)", "indices(7, 5)"}, "mean", -100,
           "0.0", {"", "transpose", ""});
  r.push_back(std::move(lce));

  OpEntry nll{.op = "nll_loss",
              .torch = "F.nll_loss(x[0], x[1], ignore_index=a['ignore_index'], reduction=a['reduction'])",
              .nabla =
                  [](const Inputs& x, const json& a) {
                    return one(nll_loss(x.at(0), x.at(1), a.at("ignore_index").get<int64_t>(), a.at("reduction")));
                  },
              .grad_inputs = {0},
              .many_terms = true};
  auto nll_case = [&](const std::string& name, std::vector<std::string> inputs, const std::string& reduction = "mean",
                      int ignore_index = -100) {
    nll.cases.push_back(
        {name, std::move(inputs),
         R"({"reduction": ")" + reduction + R"(", "ignore_index": )" + std::to_string(ignore_index) + "}"});
  };
  nll_case("nll_loss_mean", {"torch.log_softmax(randn(5, 4), -1)", "indices(4, 5)"});
  nll_case("nll_loss_sum", {"torch.log_softmax(randn(5, 4), -1)", "indices(4, 5)"}, "sum");
  nll_case("nll_loss_none", {"torch.log_softmax(randn(5, 4), -1)", "indices(4, 5)"}, "none");
  nll_case("nll_loss_ignore_index", {"torch.log_softmax(randn(6, 3), -1)", "targets_with(0, 6, 3)"}, "mean", 0);
  nll_case("nll_loss_spatial", {"torch.log_softmax(randn(2, 4, 3), 1)", "indices(4, 2, 3)"});
  r.push_back(std::move(nll));
}

// ----------------------------------------------------------------------------- attention

void add_attention(std::vector<OpEntry>& r) {
  OpEntry sdpa{
      .op = "scaled_dot_product_attention",
      .torch =
          "F.scaled_dot_product_attention(x[0], x[1], x[2], attn_mask=x[3] if len(x) > 3 else None, "
          "is_causal=a['is_causal'], scale=a['scale'])",
      .nabla =
          [](const Inputs& x, const json& a) {
            return one(scaled_dot_product_attention(x.at(0), x.at(1), x.at(2), optional_input(x, 3),
                                                    a.at("is_causal").get<bool>(), optional_double(a.at("scale"))));
          },
      .grad_inputs = {0, 1, 2},  // not the mask
      .many_terms = true};
  auto add = [&](const std::string& name, std::vector<int64_t> q, std::vector<int64_t> k, std::vector<int64_t> v,
                 const std::string& mask = "", bool causal = false, const std::string& scale = "null") {
    std::vector<std::string> inputs = {call("randn", q), call("randn", k), call("randn", v)};
    if (!mask.empty()) inputs.push_back(mask);
    sdpa.cases.push_back(
        {name, inputs,
         std::string(R"({"is_causal": )") + (causal ? "true" : "false") + R"(, "scale": )" + scale + "}"});
  };
  add("sdpa_basic", {2, 3, 5, 8}, {2, 3, 5, 8}, {2, 3, 5, 8});
  add("sdpa_cross_s_ne_t", {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 8});
  add("sdpa_causal", {2, 3, 5, 8}, {2, 3, 5, 8}, {2, 3, 5, 8}, "", true);
  add("sdpa_causal_scale", {1, 2, 6, 4}, {1, 2, 6, 4}, {1, 2, 6, 4}, "", true, "0.3");
  // Longer than one 64-row tile: the causal diagonal crosses tiles.
  add("sdpa_causal_two_tiles", {1, 2, 70, 8}, {1, 2, 70, 8}, {1, 2, 70, 8}, "", true);
  add("sdpa_scale", {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 8}, "", false, "0.5");
  add("sdpa_value_dim_differs", {2, 2, 5, 8}, {2, 2, 7, 8}, {2, 2, 7, 3});
  add("sdpa_3d", {3, 5, 4}, {3, 6, 4}, {3, 6, 4});
  add("sdpa_bool_mask_2d", {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 8}, "keep_one_per_row(torch.rand(5, 7) > 0.4)");
  add("sdpa_bool_mask_4d", {2, 3, 5, 8}, {2, 3, 5, 8}, {2, 3, 5, 8}, "keep_one_per_row(torch.rand(2, 1, 5, 5) > 0.5)");
  add("sdpa_float_mask", {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 8}, "randn(2, 1, 5, 7)");
  add("sdpa_float_mask_neg_inf", {1, 2, 4, 8}, {1, 2, 6, 8}, {1, 2, 6, 8},
      "torch.where(keep_one_per_row(torch.rand(4, 6) > 0.5), 0.0, float('-inf'))");
  add("sdpa_single_query", {2, 3, 1, 8}, {2, 3, 7, 8}, {2, 3, 7, 8});
  // A padding mask over the keys alone, broadcast over every query.
  add("sdpa_key_mask_1d", {2, 3, 4}, {2, 5, 4}, {2, 5, 4}, "torch.tensor([True, True, False, True, True])");
  r.push_back(std::move(sdpa));

  r.push_back({.op = "self_attention_heads",
               .torch = "self_attention_heads_twin(x[0], a['num_heads'], a['is_causal'], a['time_major'])",
               .nabla =
                   [](const Inputs& x, const json& a) {
                     return one(self_attention_heads(x.at(0), a.at("num_heads").get<int64_t>(),
                                                     a.at("is_causal").get<bool>(), a.at("time_major").get<bool>()));
                   },
               .many_terms = true,
               .cases = {{"self_attention_heads_causal",
                          {"randn(2, 70, 24)"},
                          R"({"num_heads": 2, "is_causal": true, "time_major": false})"},
                         {"self_attention_heads_time_major",
                          {"randn(5, 2, 18)"},
                          R"({"num_heads": 3, "is_causal": false, "time_major": true})"}}});
}

std::vector<OpEntry> build() {
  std::vector<OpEntry> r;
  add_unary(r);
  add_binary(r);
  add_softmax(r);
  add_reductions(r);
  add_products(r);
  add_pooling(r);
  add_nn_functional(r);
  add_shapes(r);
  add_losses(r);
  add_attention(r);
  return r;
}

}  // namespace

const std::vector<OpEntry>& entries() {
  static const std::vector<OpEntry> registry = build();
  return registry;
}

const OpEntry* find(const std::string& op) {
  for (const OpEntry& e : entries())
    if (e.op == op) return &e;
  return nullptr;
}

json to_json() {
  json out = json::array();
  for (const OpEntry& e : entries()) {
    json cases = json::array();
    for (const OpCase& c : e.cases)
      cases.push_back({{"name", c.name}, {"inputs", c.inputs}, {"args", c.args}, {"views", c.views}});
    out.push_back({{"op", e.op},
                   {"torch", e.torch},
                   {"grad_inputs", e.grad_inputs},
                   {"multi_output", e.multi_output},
                   {"grad_outputs", e.grad_outputs},
                   {"differentiable", e.differentiable},
                   {"cases", cases}});
  }
  return out;
}

}  // namespace nabla::op_registry
