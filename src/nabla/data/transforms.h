// Batch transforms the DataLoader applies after collating: normalise, one-hot targets, and
// random crop / horizontal flip for NCHW images. Random ones draw from the generator the loader
// passes in, seeded per (seed, epoch, batch), so a run repeats exactly with or without prefetch.
#pragma once
#include <functional>
#include <vector>

#include "nabla/core/random.h"
#include "nabla/core/tensor.h"

namespace nabla::data {

struct Batch {
  Tensor x, y;
  Tensor indices;  // i64 sample indices the batch was built from
  int64_t size() const { return indices.numel(); }
  // Sharded epochs (DataLoaderOptions::num_replicas > 1): the step's samples over all ranks, and
  // whether this rank's batch is a stand-in — when a last batch has fewer samples than there are
  // ranks, a rank left without one computes on a copy that must count for nothing.
  int64_t global_size = 0;
  bool placeholder = false;
  int64_t real_size() const { return placeholder ? 0 : size(); }
};

// Replaces batch.x / batch.y with new tensors (never writes into the dataset's own storage).
using BatchTransform = std::function<void(Batch& batch, Generator& gen)>;

// x f32: (x - mean) / std, with one value for all elements or one per channel (dimension 1).
BatchTransform normalize(std::vector<float> mean, std::vector<float> std);
// y i64 class ids [B] -> f32 one-hot [B, num_classes]; an id outside [0, num_classes) is an error.
BatchTransform one_hot(int64_t num_classes);
// x f32 [B, C, H, W]: pads each side by `padding` with `fill`, then cuts an H x W window at a
// random offset per sample (the CIFAR / Fashion-MNIST augmentation). On standardised images, fill
// with what a black pixel became ((0 - mean) / std), so the border is background, not grey.
BatchTransform random_crop(int64_t padding, float fill = 0.0f);
// x f32 [B, C, H, W]: mirrors each sample left-right with probability p.
BatchTransform random_horizontal_flip(double p = 0.5);

}  // namespace nabla::data
