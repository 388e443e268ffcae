#include "nabla/nn/embedding.h"

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/ops/nn_functional.h"

namespace nabla::nn {

Embedding::Embedding(int64_t num, int64_t dim, std::optional<int64_t> padding)
    : Module("Embedding"), num_embeddings(num), embedding_dim(dim), padding_idx(padding) {
  NABLA_CHECK(num > 0 && dim > 0, "Embedding: sizes must be positive, got ", num, " x ", dim);
  NABLA_CHECK(!padding || (*padding >= -num && *padding < num), "Embedding: padding_idx ", padding.value_or(0),
              " is outside the table of ", num, " rows");
  Tensor table = randn({num, dim});
  if (padding) table.select(0, *padding < 0 ? *padding + num : *padding).zero_();  // the padding row starts at 0
  weight = register_parameter("weight", table);
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(indices, weight, padding_idx); }

std::string Embedding::extra_repr() const {
  return std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
}

}  // namespace nabla::nn
