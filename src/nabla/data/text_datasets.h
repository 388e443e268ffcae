// Datasets over token ids: next-token windows for language models, and padded sequences with a
// label each for sequence classification.
#pragma once
#include <vector>

#include "nabla/data/dataset.h"

namespace nabla::data {

// Windows over one token stream: sample i starts at i * stride; x = tokens[s, s + T) and
// y = tokens[s + 1, s + T + 1), both i64 [B, T].
class LanguageModelDataset : public Dataset {
 public:
  // tokens: 1-D integer ids; stride 0 means seq_len (windows side by side, no overlap).
  LanguageModelDataset(Tensor tokens, int64_t seq_len, int64_t stride = 0);
  LanguageModelDataset(const std::vector<int64_t>& tokens, int64_t seq_len, int64_t stride = 0);
  int64_t size() const override { return windows_; }
  std::pair<Tensor, Tensor> batch(const Tensor& indices) const override;
  bool can_prefetch() const override { return true; }
  int64_t seq_len() const { return seq_len_; }

 private:
  Tensor tokens_;
  int64_t seq_len_, stride_, windows_;
};

enum class Padding { end, start };  // where pad ids go: after the tokens (end) or before them (start)

// Each sequence cut to its first max_len ids and padded with pad_id to exactly max_len:
// i64 [sequences, max_len].
Tensor pad_sequences(const std::vector<std::vector<int64_t>>& sequences, int64_t max_len, int64_t pad_id = 0,
                     Padding padding = Padding::end);

// Padded sequences (x i64 [B, max_len], see pad_sequences) with the labels tensor's rows as y (any
// dtype, first dimension = sequences).
class SequenceClassificationDataset : public TensorDataset {
 public:
  SequenceClassificationDataset(const std::vector<std::vector<int64_t>>& sequences, Tensor labels, int64_t max_len,
                                int64_t pad_id = 0, Padding padding = Padding::end)
      : TensorDataset(pad_sequences(sequences, max_len, pad_id, padding), std::move(labels)) {}
};

}  // namespace nabla::data
