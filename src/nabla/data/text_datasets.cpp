// LanguageModelDataset and SequenceClassificationDataset: plain copies out of one i64 buffer.
#include "nabla/data/text_datasets.h"

#include <algorithm>

#include "nabla/core/creation.h"
#include "nabla/ops/shape_ops.h"

namespace nabla::data {
namespace {

// The batch's sample ids, checked against the dataset size, as a contiguous i64 pointer.
Tensor checked_indices(const Tensor& indices, int64_t size, const char* what) {
  NABLA_CHECK(indices.defined() && indices.dim() == 1, what, ": indices must be 1-D");
  Tensor idx = indices.to(DType::i64).contiguous();
  const int64_t* p = idx.data<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i)
    NABLA_CHECK(p[i] >= 0 && p[i] < size, what, ": sample index ", p[i], " is outside its ", size, " samples");
  return idx;
}

}  // namespace

LanguageModelDataset::LanguageModelDataset(Tensor tokens, int64_t seq_len, int64_t stride)
    : seq_len_(seq_len), stride_(stride == 0 ? seq_len : stride) {
  NABLA_CHECK(tokens.defined() && tokens.dim() == 1 && tokens.dtype() != DType::f32 && tokens.dtype() != DType::bf16,
              "LanguageModelDataset: tokens must be a 1-D tensor of integer ids");
  NABLA_CHECK(seq_len >= 1 && stride_ >= 1, "LanguageModelDataset: seq_len and stride must be positive, got ", seq_len,
              " and ", stride);
  tokens_ = tokens.to(DType::i64).contiguous();
  const int64_t n = tokens_.numel();
  NABLA_CHECK(n >= seq_len + 1, "LanguageModelDataset: ", n, " tokens are too few for one window of ", seq_len,
              " inputs plus the next-token target; use a larger corpus or a shorter seq_len");
  windows_ = (n - seq_len - 1) / stride_ + 1;
}

LanguageModelDataset::LanguageModelDataset(const std::vector<int64_t>& tokens, int64_t seq_len, int64_t stride)
    : LanguageModelDataset(tensor_i64(tokens), seq_len, stride) {}

std::pair<Tensor, Tensor> LanguageModelDataset::batch(const Tensor& indices) const {
  Tensor idx = checked_indices(indices, windows_, "LanguageModelDataset");
  const int64_t b = idx.numel(), t = seq_len_;
  Tensor x = Tensor::empty({b, t}, DType::i64), y = Tensor::empty({b, t}, DType::i64);
  const int64_t* tokens = tokens_.data<int64_t>();
  const int64_t* ip = idx.data<int64_t>();
  for (int64_t i = 0; i < b; ++i) {
    const int64_t* window = tokens + ip[i] * stride_;
    std::copy(window, window + t, x.data<int64_t>() + i * t);
    std::copy(window + 1, window + t + 1, y.data<int64_t>() + i * t);
  }
  return {x, y};
}

Tensor pad_sequences(const std::vector<std::vector<int64_t>>& sequences, int64_t max_len, int64_t pad_id,
                     Padding padding) {
  const int64_t n = int64_t(sequences.size());
  NABLA_CHECK(max_len >= 1, "pad_sequences: max_len must be positive, got ", max_len);
  NABLA_CHECK(n > 0, "pad_sequences: no sequences");
  Tensor out = full({n, max_len}, double(pad_id), DType::i64);
  int64_t* x = out.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = sequences[size_t(i)];
    const int64_t kept = std::min<int64_t>(int64_t(s.size()), max_len);
    const int64_t offset = padding == Padding::start ? max_len - kept : 0;
    std::copy(s.begin(), s.begin() + kept, x + i * max_len + offset);
  }
  return out;
}

}  // namespace nabla::data
