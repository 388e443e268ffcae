#include "nabla/ops/shape_ops.h"

#include <cstring>

#include "nabla/autograd/node.h"
#include "nabla/core/creation.h"
#include "nabla/core/profiler.h"
#include "nabla/core/views.h"
#include "nabla/kernels/copy.h"
#include "nabla/ops/op_utils.h"

namespace nabla {

using autograd::needs_grad;
using autograd::record;

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  NABLA_PROFILE_OP("cat");
  NABLA_CHECK(!tensors.empty(), "cat: needs at least one tensor");
  const Tensor& first = tensors[0];
  for (size_t i = 0; i < tensors.size(); ++i) detail::check_defined(tensors[i], "cat", "an input");
  const int d = wrap_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    NABLA_CHECK(t.dim() == first.dim() && t.dtype() == first.dtype(), "cat: tensor ", i, " has shape ", t.shape(),
                " and dtype ", dtype_name(t.dtype()), ", tensor 0 has shape ", first.shape(), " and dtype ",
                dtype_name(first.dtype()));
    for (int j = 0; j < t.dim(); ++j)
      NABLA_CHECK(j == d || t.shape()[j] == first.shape()[j], "cat: tensor ", i, " of shape ", t.shape(),
                  " differs from tensor 0 of shape ", first.shape(), " in dimension ", j, " (joining along ", d, ")");
    shape[d] += t.shape()[d];
  }
  Tensor out = Tensor::empty(shape, first.dtype());
  std::vector<int64_t> offsets;
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    offsets.push_back(at);
    kernels::copy_elements(t, views::slice(out, d, at, at + t.shape()[d], 1));
    at += t.shape()[d];
  }
  if (needs_grad(tensors)) {
    std::vector<int64_t> sizes;
    for (const Tensor& t : tensors) sizes.push_back(t.shape()[d]);
    record("cat", out, tensors, [d, offsets, sizes](const Tensor& g) {
      std::vector<Tensor> grads;
      for (size_t i = 0; i < sizes.size(); ++i)
        grads.push_back(views::slice(g, d, offsets[i], offsets[i] + sizes[i], 1));
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  NABLA_PROFILE_OP("stack");
  NABLA_CHECK(!tensors.empty(), "stack: needs at least one tensor");
  const int d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    NABLA_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: tensor ", i, " has shape ", tensors[i].shape(),
                " but tensor 0 has shape ", tensors[0].shape(), "; stack needs equal shapes");
    expanded.push_back(tensors[i].unsqueeze(d));
  }
  return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  NABLA_PROFILE_OP("split");
  const int d = wrap_dim(dim, x.dim(), "split");
  NABLA_CHECK(split_size > 0, "split: split_size must be positive, got ", split_size);
  std::vector<Tensor> pieces;
  for (int64_t start = 0; start < x.shape()[d]; start += split_size)
    pieces.push_back(x.slice(d, start, std::min(start + split_size, x.shape()[d])));
  if (pieces.empty()) pieces.push_back(x);
  return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  NABLA_PROFILE_OP("chunk");
  NABLA_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
  const int d = wrap_dim(dim, x.dim(), "chunk");
  return split(x, std::max<int64_t>(1, (x.shape()[d] + chunks - 1) / chunks), d);
}

namespace {

// Reads an index tensor as i64 and checks every entry against the dimension size.
Tensor checked_indices(const Tensor& index, int64_t size, const char* op) {
  detail::check_index(index, op);
  Tensor idx = index.to(DType::i64).contiguous();
  const int64_t* p = idx.data<int64_t>();
  for (int64_t i = 0, n = idx.numel(); i < n; ++i)
    NABLA_CHECK(p[i] >= 0 && p[i] < size, op, ": index ", p[i], " is out of range for a dimension of size ", size);
  return idx;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  NABLA_PROFILE_OP("index_select");
  detail::check_defined(x, "index_select", "input");
  const int d = wrap_dim(dim, x.dim(), "index_select");
  NABLA_CHECK(index.dim() <= 1, "index_select: index must be 1-D, got shape ", index.shape());
  Tensor idx = checked_indices(index, x.shape()[d], "index_select");
  Tensor src = x.contiguous();
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
  const int64_t n = idx.numel(), size = x.shape()[d], bytes = inner * int64_t(x.element_size());
  Shape shape = x.shape();
  shape[d] = n;
  Tensor out = Tensor::empty(shape, x.dtype());
  const char* s = static_cast<const char*>(src.raw_data());
  char* o = static_cast<char*>(out.raw_data());
  const int64_t* ip = idx.data<int64_t>();
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t j = 0; j < n; ++j) std::memcpy(o + (a * n + j) * bytes, s + (a * size + ip[j]) * bytes, bytes);
  if (needs_grad({x})) {
    Shape in_shape = x.shape();
    record("index_select", out, {x}, [idx, in_shape, outer, inner, n, size](const Tensor& g) {
      Tensor gp = g.contiguous();
      Tensor dx = zeros(in_shape);
      const float* gv = gp.data<float>();
      float* dv = dx.data<float>();
      const int64_t* ip = idx.data<int64_t>();
      for (int64_t a = 0; a < outer; ++a)
        for (int64_t j = 0; j < n; ++j) {
          float* dst = dv + (a * size + ip[j]) * inner;
          const float* src = gv + (a * n + j) * inner;
          for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
        }
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  NABLA_PROFILE_OP("gather");
  detail::check_f32(x, "gather");
  const int d = wrap_dim(dim, x.dim(), "gather");
  NABLA_CHECK(index.dim() == x.dim(), "gather: index has ", index.dim(), " dimensions but input has ", x.dim(),
              " (input ", x.shape(), ", index ", index.shape(), ")");
  for (int i = 0; i < x.dim(); ++i)
    NABLA_CHECK(i == d || index.shape()[i] <= x.shape()[i], "gather: index shape ", index.shape(),
                " exceeds input shape ", x.shape(), " in dimension ", i);
  Tensor idx = checked_indices(index, x.shape()[d], "gather");
  const Shape out_shape = idx.shape();
  const Shape out_strides = contiguous_strides(out_shape);
  const int64_t n = idx.numel();
  Tensor out = Tensor::empty(out_shape);
  const float* xv = x.data<float>();
  const int64_t* ip = idx.data<int64_t>();
  float* ov = out.data<float>();
  // Position in x: the output coordinate with dimension d replaced by the index value.
  auto source_offset = [&](int64_t linear) {
    int64_t offset = 0;
    for (int i = 0; i < out_shape.size(); ++i) {
      int64_t c = (linear / out_strides[i]) % out_shape[i];
      offset += (i == d ? ip[linear] : c) * x.strides()[i];
    }
    return offset;
  };
  for (int64_t l = 0; l < n; ++l) ov[l] = xv[source_offset(l)];
  if (needs_grad({x})) {
    std::vector<int64_t> offsets(n);
    for (int64_t l = 0; l < n; ++l) offsets[l] = source_offset(l);
    Shape in_shape = x.shape(), in_strides = x.strides();
    record("gather", out, {x}, [offsets, in_shape, in_strides](const Tensor& g) {
      Tensor gp = g.contiguous();
      // Offsets are in x's strides; accumulate into a tensor laid out the same way.
      Tensor dx = zeros(in_shape);
      Tensor dx_view = views::as_strided(dx, in_shape, in_strides, 0);
      bool same_layout = in_strides == contiguous_strides(in_shape);
      const float* gv = gp.data<float>();
      if (same_layout) {
        float* dv = dx.data<float>();
        for (size_t l = 0; l < offsets.size(); ++l) dv[offsets[l]] += gv[l];
        return std::vector<Tensor>{dx};
      }
      // Non-packed input: map each strided offset back to coordinates.
      Shape packed = contiguous_strides(in_shape);
      float* dv = dx.data<float>();
      std::vector<int> order(in_shape.size());
      for (size_t l = 0; l < offsets.size(); ++l) {
        int64_t rem = offsets[l], packed_offset = 0;
        // Strides of a view are unique per dim after sorting by size, so peel them largest first.
        std::vector<int> dims(in_shape.size());
        for (int i = 0; i < in_shape.size(); ++i) dims[i] = i;
        std::sort(dims.begin(), dims.end(), [&](int a, int b) { return in_strides[a] > in_strides[b]; });
        for (int i : dims) {
          if (in_strides[i] == 0) continue;
          int64_t c = rem / in_strides[i];
          rem -= c * in_strides[i];
          packed_offset += c * packed[i];
        }
        dv[packed_offset] += gv[l];
      }
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace nabla
