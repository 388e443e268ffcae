// Small checks shared by op implementations.
#pragma once
#include "nabla/core/tensor.h"

namespace nabla::detail {

// A kernel argument for an optional tensor: its f32 data, or null when it is undefined.
inline float* f32_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

inline void check_defined(const Tensor& t, const char* op, const char* what) {
  NABLA_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
}

// Float ops compute in f32; anything else is a clear error rather than a silent conversion.
inline void check_f32(const Tensor& t, const char* op, const char* what = "input") {
  check_defined(t, op, what);
  NABLA_CHECK(t.dtype() == DType::f32, op, ": ", what, " must be f32, got ", dtype_name(t.dtype()), " (shape ",
              t.shape(), "); convert it with .to(DType::f32)");
}

inline void check_index(const Tensor& t, const char* op, const char* what = "index") {
  check_defined(t, op, what);
  NABLA_CHECK(t.dtype() == DType::i64 || t.dtype() == DType::i32, op, ": ", what,
              " must be an integer tensor (i64), got ", dtype_name(t.dtype()));
}

inline void check_reduction(const std::string& reduction, const char* op) {
  NABLA_CHECK(reduction == "mean" || reduction == "sum" || reduction == "none", op,
              ": reduction must be \"mean\", "
              "\"sum\" or \"none\", got \"",
              reduction, "\"");
}

}  // namespace nabla::detail
