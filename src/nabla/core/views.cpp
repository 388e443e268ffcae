#include "nabla/core/views.h"

namespace nabla::views {

Tensor as_strided(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset) {
  return Tensor::make_view(t.storage(), shape, strides, offset, t.dtype());
}

Tensor expand(const Tensor& t, const Shape& shape) {
  NABLA_CHECK(shape.size() >= t.dim(), "expand: cannot expand shape ", t.shape(), " to fewer dimensions ", shape);
  Shape strides;
  strides.resize(shape.size());
  Shape out = shape;
  const int lead = shape.size() - t.dim();
  for (int i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      NABLA_CHECK(shape[i] >= 0, "expand: new leading dimension ", i, " must be non-negative in ", shape);
      strides[i] = 0;
      continue;
    }
    int64_t have = t.shape()[i - lead];
    if (shape[i] == -1 || shape[i] == have) {
      out[i] = have;
      strides[i] = t.strides()[i - lead];
    } else {
      NABLA_CHECK(have == 1, "expand: dimension ", i, " of shape ", t.shape(), " has size ", have,
                  " and cannot expand to ", shape[i], " (only size-1 dimensions expand)");
      strides[i] = 0;
    }
  }
  return as_strided(t, out, strides, t.offset());
}

Tensor permute(const Tensor& t, const std::vector<int64_t>& dims) {
  NABLA_CHECK(int(dims.size()) == t.dim(), "permute: ", dims.size(), " dims given for a tensor of shape ", t.shape());
  Shape shape, strides;
  std::vector<bool> seen(t.dim(), false);
  for (int64_t d : dims) {
    int w = wrap_dim(d, t.dim(), "permute");
    NABLA_CHECK(!seen[w], "permute: dimension ", w, " appears twice");
    seen[w] = true;
    shape.push_back(t.shape()[w]);
    strides.push_back(t.strides()[w]);
  }
  return as_strided(t, shape, strides, t.offset());
}

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  int d = wrap_dim(dim, t.dim(), "slice");
  NABLA_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t size = t.shape()[d];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  Shape shape = t.shape(), strides = t.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  return as_strided(t, shape, strides, t.offset() + start * t.strides()[d]);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  int d = wrap_dim(dim, t.dim(), "select");
  const int64_t size = t.shape()[d];
  NABLA_CHECK(index >= -size && index < size, "select: index ", index, " is out of range for dimension ", d,
              " of size ", size, " (shape ", t.shape(), ")");
  if (index < 0) index += size;
  Shape shape = t.shape(), strides = t.strides();
  shape.erase(d);
  strides.erase(d);
  return as_strided(t, shape, strides, t.offset() + index * t.strides()[d]);
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  int d = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Shape shape = t.shape(), strides = t.strides();
  int64_t stride = d < t.dim() ? t.strides()[d] * t.shape()[d] : 1;
  shape.insert(d, 1);
  strides.insert(d, stride);
  return as_strided(t, shape, strides, t.offset());
}

Tensor squeeze(const Tensor& t, std::optional<int64_t> dim) {
  Shape shape = t.shape(), strides = t.strides();
  if (dim) {
    int d = wrap_dim(*dim, t.dim(), "squeeze");
    if (shape[d] == 1) {
      shape.erase(d);
      strides.erase(d);
    }
  } else {
    for (int i = shape.size() - 1; i >= 0; --i)
      if (shape[i] == 1) {
        shape.erase(i);
        strides.erase(i);
      }
  }
  return as_strided(t, shape, strides, t.offset());
}

Shape infer_shape(const Shape& requested, int64_t numel, const char* op) {
  Shape shape = requested;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      NABLA_CHECK(infer < 0, op, ": only one dimension can be -1 in ", requested);
      infer = i;
    } else {
      NABLA_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in ", requested);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    NABLA_CHECK(known != 0 && numel % known == 0, op, ": shape ", requested, " is invalid for ", numel, " elements");
    shape[infer] = numel / known;
  }
  NABLA_CHECK(shape.numel() == numel, op, ": shape ", requested, " is invalid for a tensor of ", numel, " elements");
  return shape;
}

// Walks both shapes in chunks of equal element count (PyTorch's computeStride algorithm).
std::optional<Shape> view_strides(const Tensor& t, const Shape& shape) {
  Shape new_strides;
  new_strides.resize(shape.size());
  if (t.numel() == 0 || t.dim() == 0) return contiguous_strides(shape);
  int view_d = shape.size() - 1;
  int64_t chunk_base_stride = t.strides()[t.dim() - 1];
  int64_t tensor_numel = 1, view_numel = 1;
  for (int d = t.dim() - 1; d >= 0; --d) {
    tensor_numel *= t.shape()[d];
    if (d == 0 || (t.shape()[d - 1] != 1 && t.strides()[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        new_strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = t.strides()[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

void coalesce_dims(Shape& shape, std::initializer_list<Shape*> strides) {
  // Drop size-1 dims first: their strides do not matter.
  for (int i = shape.size() - 1; i >= 0 && shape.size() > 1; --i) {
    if (shape[i] == 1) {
      shape.erase(i);
      for (Shape* s : strides) s->erase(i);
    }
  }
  for (int i = shape.size() - 2; i >= 0; --i) {
    bool mergeable = true;
    for (Shape* s : strides)
      if ((*s)[i] != (*s)[i + 1] * shape[i + 1]) mergeable = false;
    if (!mergeable) continue;
    shape[i] *= shape[i + 1];
    shape.erase(i + 1);
    for (Shape* s : strides) {
      (*s)[i] = (*s)[i + 1];
      s->erase(i + 1);
    }
  }
  if (shape.empty()) {
    shape.push_back(1);
    for (Shape* s : strides) s->push_back(1);
  }
}

}  // namespace nabla::views
