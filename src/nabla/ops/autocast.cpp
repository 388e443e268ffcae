#include "nabla/ops/autocast.h"

#include "nabla/core/error.h"
#include "nabla/kernels/bf16_convert.h"
#include "nabla/kernels/matmul.h"

namespace nabla {
namespace {
thread_local DType current_dtype = DType::f32;
}  // namespace

AutocastGuard::AutocastGuard(DType compute_dtype) : previous_(current_dtype) {
  NABLA_CHECK(compute_dtype == DType::f32 || compute_dtype == DType::bf16,
              "autocast: the compute dtype must be f32 or bf16, got ", dtype_name(compute_dtype));
  current_dtype = compute_dtype;
}

AutocastGuard::~AutocastGuard() { current_dtype = previous_; }

DType autocast_dtype() { return current_dtype; }

bool bf16_native() { return kernels::bf16_gemm_native(); }

DType parse_precision(const std::string& name) {
  if (name == "fp32" || name == "f32" || name == "float32") return DType::f32;
  if (name == "bf16" || name == "bfloat16") return DType::bf16;
  fail("precision \"", name,
       "\" is not supported; use \"fp32\" or \"bf16\" (bf16 mixed precision: bf16 matrix "
       "inputs, f32 accumulation and f32 master weights)");
}

namespace detail {

Tensor to_bf16(const Tensor& t) {
  Tensor src = t.contiguous(), out = Tensor::empty(t.shape(), DType::bf16);
  kernels::f32_to_bf16(src.data<float>(), out.data<bf16>(), src.numel());
  return out;
}

Tensor bf16_gemm_operand(const Tensor& t) { return bf16_native() ? to_bf16(t) : round_to_bf16(t); }

Tensor round_to_bf16(const Tensor& t) {
  Tensor src = t.contiguous(), out = Tensor::empty(t.shape());
  kernels::round_to_bf16(src.data<float>(), out.data<float>(), src.numel());
  return out;
}

}  // namespace detail
}  // namespace nabla
