// LanguageModel: what text generation needs from a model — logits for a whole sequence (training)
// and incremental next-token logits that carry a state (GPT's KV cache, an RNN's hidden state),
// so each generated token costs one position, not a re-forward of the whole prefix.
#pragma once
#include <vector>

#include "nabla/nn/module.h"

namespace nabla::models {

// Opaque per-model decoding state: the KV cache of each block, or recurrent hidden states.
struct DecodeState {
  std::vector<Tensor> tensors;
  int64_t length = 0;  // tokens consumed so far
};

class LanguageModel : public nn::Module {
 public:
  using nn::Module::Module;
  // tokens i64 [B, T] -> logits f32 [B, T, vocab].
  Tensor forward(const Tensor& tokens) override = 0;
  // Feeds tokens i64 [B, t] after those already in `state`; returns logits [B, vocab] for the
  // position after the last one. Runs without a graph.
  virtual Tensor decode(const Tensor& tokens, DecodeState& state) = 0;
  virtual int64_t vocab_size() const = 0;
  // The longest prefix the model can attend to (0 = unbounded, as for RNNs).
  virtual int64_t context_length() const { return 0; }
};

}  // namespace nabla::models
