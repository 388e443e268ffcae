// The batch transforms: plain loops (no ops), so they run on the prefetch thread without
// competing for the OpenMP team the training step uses.
#include "nabla/data/transforms.h"

#include <cmath>
#include <cstring>

namespace nabla::data {
namespace {

Tensor contiguous_f32(const Tensor& x, const char* what) {
  NABLA_CHECK(x.defined() && x.dtype() == DType::f32, what, ": expects f32 inputs, got ",
              x.defined() ? dtype_name(x.dtype()) : "none", " (convert the dataset to f32 first)");
  return x.contiguous();
}

void check_images(const Tensor& x, const char* what) {
  NABLA_CHECK(x.dim() == 4, what, ": expects images [B, C, H, W], got shape ", x.shape());
}

}  // namespace

BatchTransform normalize(std::vector<float> mean, std::vector<float> std) {
  NABLA_CHECK(!mean.empty() && mean.size() == std.size(), "normalize: give as many means as stds (", mean.size(),
              " vs ", std.size(), "), at least one");
  for (float s : std) NABLA_CHECK(s > 0 && std::isfinite(s), "normalize: std must be positive, got ", s);
  return [mean = std::move(mean), std = std::move(std)](Batch& batch, Generator&) {
    Tensor x = contiguous_f32(batch.x, "normalize");
    const int64_t channels = int64_t(mean.size());
    int64_t inner = 1;
    if (channels > 1) {
      NABLA_CHECK(x.dim() >= 2 && x.shape()[1] == channels, "normalize: ", channels,
                  " per-channel values but the batch has shape ", x.shape(), " (channels are dimension 1)");
      for (int d = 2; d < x.dim(); ++d) inner *= x.shape()[d];
    } else {
      inner = x.numel();
    }
    Tensor out = Tensor::empty(x.shape());
    const float* src = x.data<float>();
    float* dst = out.data<float>();
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = channels > 1 ? (i / inner) % channels : 0;
      dst[i] = (src[i] - mean[size_t(c)]) / std[size_t(c)];
    }
    batch.x = out;
  };
}

BatchTransform one_hot(int64_t num_classes) {
  NABLA_CHECK(num_classes >= 1, "one_hot: num_classes must be at least 1, got ", num_classes);
  return [num_classes](Batch& batch, Generator&) {
    NABLA_CHECK(batch.y.defined() && batch.y.dtype() == DType::i64 && batch.y.dim() == 1,
                "one_hot: expects i64 class ids [B], got ", batch.y.defined() ? dtype_name(batch.y.dtype()) : "none",
                " ", batch.y.defined() ? batch.y.shape() : Shape{});
    Tensor y = batch.y.contiguous();
    const int64_t n = y.numel();
    Tensor out = Tensor::empty({n, num_classes});
    float* dst = out.data<float>();
    std::memset(dst, 0, size_t(n * num_classes) * sizeof(float));
    const int64_t* ids = y.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      NABLA_CHECK(ids[i] >= 0 && ids[i] < num_classes, "one_hot: label ", ids[i], " of sample ", i, " is outside [0, ",
                  num_classes, ")");
      dst[i * num_classes + ids[i]] = 1.0f;
    }
    batch.y = out;
  };
}

BatchTransform random_crop(int64_t padding, float fill) {
  NABLA_CHECK(padding >= 0, "random_crop: padding must be non-negative, got ", padding);
  return [padding, fill](Batch& batch, Generator& gen) {
    Tensor x = contiguous_f32(batch.x, "random_crop");
    check_images(x, "random_crop");
    const int64_t b = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
    Tensor out = Tensor::empty(x.shape());
    const float* src = x.data<float>();
    float* dst = out.data<float>();
    for (int64_t s = 0; s < b; ++s) {
      // Offsets into the padded image; (padding, padding) is the uncropped original.
      const int64_t dy = gen.randint(0, 2 * padding + 1) - padding, dx = gen.randint(0, 2 * padding + 1) - padding;
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* plane = src + (s * c + ch) * h * w;
        float* out_plane = dst + (s * c + ch) * h * w;
        for (int64_t r = 0; r < h; ++r) {
          const int64_t sr = r + dy;
          for (int64_t col = 0; col < w; ++col) {
            const int64_t sc = col + dx;
            out_plane[r * w + col] = sr >= 0 && sr < h && sc >= 0 && sc < w ? plane[sr * w + sc] : fill;
          }
        }
      }
    }
    batch.x = out;
  };
}

BatchTransform random_horizontal_flip(double p) {
  NABLA_CHECK(p >= 0 && p <= 1, "random_horizontal_flip: p must be in [0, 1], got ", p);
  return [p](Batch& batch, Generator& gen) {
    Tensor x = contiguous_f32(batch.x, "random_horizontal_flip");
    check_images(x, "random_horizontal_flip");
    const int64_t b = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
    Tensor out = Tensor::empty(x.shape());
    float* dst = out.data<float>();
    std::memcpy(dst, x.data<float>(), size_t(x.numel()) * sizeof(float));
    for (int64_t s = 0; s < b; ++s) {
      if (gen.uniform_double() >= p) continue;
      for (int64_t row = 0; row < c * h; ++row) {
        float* line = dst + (s * c * h + row) * w;
        for (int64_t i = 0, j = w - 1; i < j; ++i, --j) std::swap(line[i], line[j]);
      }
    }
    batch.x = out;
  };
}

}  // namespace nabla::data
