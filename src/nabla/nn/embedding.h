// Embedding: a table of vectors looked up by integer token ids, initialised N(0, 1) as in PyTorch.
#pragma once
#include <optional>

#include "nabla/nn/module.h"

namespace nabla::nn {

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt);
  Tensor forward(const Tensor& indices) override;
  std::string extra_repr() const override;

  Tensor weight;
  const int64_t num_embeddings, embedding_dim;
  const std::optional<int64_t> padding_idx;
};

}  // namespace nabla::nn
