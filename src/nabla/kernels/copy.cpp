#include "nabla/kernels/copy.h"

#include <cstring>

#include "nabla/core/views.h"

namespace nabla::kernels {

namespace {

template <typename S, typename D>
void copy_typed(const S* src, D* dst, Shape shape, Shape src_strides, Shape dst_strides) {
  views::coalesce_dims(shape, {&src_strides, &dst_strides});
  const int rank = shape.size();
  const int64_t inner = shape[rank - 1], sin = src_strides[rank - 1], din = dst_strides[rank - 1];
  const int64_t outer = shape.numel() / inner;
#pragma omp parallel for if (outer * inner > (1 << 16)) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    int64_t rem = o, so = 0, dof = 0;
    for (int d = rank - 2; d >= 0; --d) {
      int64_t i = rem % shape[d];
      rem /= shape[d];
      so += i * src_strides[d];
      dof += i * dst_strides[d];
    }
    const S* s = src + so;
    D* t = dst + dof;
    if constexpr (std::is_same_v<S, D>) {
      if (sin == 1 && din == 1) {
        std::memcpy(t, s, inner * sizeof(S));
        continue;
      }
    }
    for (int64_t i = 0; i < inner; ++i) {
      if constexpr (std::is_same_v<S, D>)
        t[i * din] = s[i * sin];
      else if constexpr (std::is_same_v<D, bf16>)
        t[i * din] = bf16::from_float(float(to_double(s[i * sin])));
      else if constexpr (std::is_same_v<S, bf16>)
        t[i * din] = from_double<D>(s[i * sin].to_float());
      else if constexpr (std::is_same_v<D, bool>)
        t[i * din] = s[i * sin] != S(0);
      else
        t[i * din] = D(s[i * sin]);
    }
  }
}

}  // namespace

void copy_elements(const Tensor& src, const Tensor& dst) {
  NABLA_CHECK(src.shape() == dst.shape(), "copy: source shape ", src.shape(), " differs from destination ",
              dst.shape());
  if (dst.numel() == 0) return;
  dispatch_dtype(src.dtype(), [&](auto* s) {
    using S = std::remove_pointer_t<decltype(s)>;
    dispatch_dtype(dst.dtype(), [&](auto* d) {
      using D = std::remove_pointer_t<decltype(d)>;
      copy_typed<S, D>(src.data<S>(), dst.data<D>(), src.shape(), src.strides(), dst.strides());
    });
  });
}

Tensor contiguous_copy(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  copy_elements(t, out);
  return out;
}

}  // namespace nabla::kernels
